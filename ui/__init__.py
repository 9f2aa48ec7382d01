"""The plugin's Qt side: the dock and its widgets, and the services that run the engine.

Imports point one way: widgets (dock, photo list, result view) -> services (run service,
task, pipeline) -> ``inference``.  Widgets touch the engine only for photo files
(``inference.photos``: what is a photo, HEIC decoding), never torch; nothing here
imports torch at QGIS start-up.
"""
