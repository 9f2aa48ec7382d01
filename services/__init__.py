"""The plugin's services: everything that is not a widget, shared by ``ui/`` and
``processing_provider/``.

What runs a task (``run_pipeline``: the one door into the engine; ``geolocate_task``,
``run_service``; ``photo_scan``), its parameters (``params``), native-library loading
(``native_libs``), dependency checks and the install plan (``dependencies``,
``install_plan``), settings (``settings``), translations (``i18n.tr``), and the layers of
a run in a project (``run_layers``, ``result_details``, ``scenes``, ``basemap``).

Imports point one way: ``plugin.py`` -> ``ui/`` -> services, ``processing_provider/`` ->
services, services -> ``inference``.  Nothing here imports ``ui``, ``qgis.gui`` or Qt
widgets (``qgis_process`` runs the Processing provider without any), and nothing here
imports torch or the engine's heavy modules at QGIS start-up: they are imported inside
the functions that need them.
"""
