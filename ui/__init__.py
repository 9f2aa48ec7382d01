"""The plugin's Qt widgets: the dock and its parts (photo list, run options, result view,
"Why here?", install panel) and what only they need (thumbnails, the progress text).

Widgets call the services (``services/``) for everything else: running, parameters,
settings, dependencies, layers, translations.  Imports point one way: ``plugin.py`` ->
``ui`` -> ``services`` -> ``inference``; Processing never imports this package.  Widgets
touch the engine only for photo files (``inference.prediction.photos``: HEIC decoding for
thumbnails), never torch; nothing here imports torch at QGIS start-up.
"""
