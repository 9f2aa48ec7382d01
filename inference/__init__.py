"""GeoDecoder inference engine: pure Python + PyTorch, no QGIS.

Layers, low to high (tests/test_architecture.py keeps them): records and geo (the
frozen records every part speaks, distances and areas); modeling (cells, the network,
bundles, calibration, credible sets); constraints (the clues) beside outputs (schema,
regions, GeoPackage, CSV, exports); prediction (photos -> records); run (a run streamed
into the writers) beside training; cli (``python -m inference``).
"""

__version__ = "0.1.0"
