"""Models downloaded once, from QGIS: bytes fetched through QGIS's network settings
(``qgis_transport``), the work in a background task (``task``).  Where the files go and
whether they are right is the engine's store (``inference.models``), the same code as
``python -m inference models``.
"""
