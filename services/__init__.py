"""The plugin's services: everything that is not a widget, shared by ``ui/`` and
``processing_provider/``.

One sub-package per subsystem: ``run`` (a run in QGIS: the one door into the engine, its
background task, the service that starts tasks, the runs in the project and what the
dock shows of them), ``case_report`` (PDF reports for a file or a court), ``installer``
(the engine's packages at their tested versions) and ``clues`` (what the Clues tab asks
for, made into the engine's constraints).  Beside them what all of them use: translations
(``i18n.tr``), settings, errors a run ends with, native-library loading, scene names and
photos read for display.

Imports point one way: ``plugin.py`` -> ``ui/`` -> services, ``processing_provider/`` ->
services, services -> ``inference``.  Nothing here imports ``ui``, ``qgis.gui`` or Qt
widgets (``qgis_process`` runs the Processing provider without any), and nothing here
imports torch or the engine's heavy modules at QGIS start-up: they are imported inside
the functions that need them.
"""
