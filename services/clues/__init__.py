"""The dock's clues: what the Clues tab asks for (``request``), areas read from QGIS
layers and map rectangles (``qgis_areas``), text seen in a photo as suggested countries
(``text_clue``), and all made into the engine's constraints on the main thread
(``constraints``)."""
