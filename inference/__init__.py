"""GeoDecoder inference engine: pure Python + PyTorch, no QGIS.

Modules: cells (S2 hierarchies), model (the network), bundle (model files), photos
(safe decoding), predict (photos -> Prediction records), evaluate, train, and the
writers (gpkg, csv_out) behind ``python -m inference``.
"""

__version__ = "0.1.0"
