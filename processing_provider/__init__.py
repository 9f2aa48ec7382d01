"""Processing provider "geodecoder": the engine in the toolbox, modeler, batch and qgis_process.

No GUI imports here: ``qgis_process`` loads the provider without a GUI.
"""
