"""The dock's clues: what the Clues tab asks for (``request``), areas read from QGIS
layers and map rectangles (``qgis_areas``), and both made into the engine's
constraints on the main thread (``constraints``)."""
