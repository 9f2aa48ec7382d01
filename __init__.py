"""GeoDecoder for QGIS: QGIS calls ``classFactory`` when it loads the plugin.

Nothing heavy is imported here (no torch, no engine): QGIS imports every enabled plugin
at start-up, and a slow or failing import would cost every user that start-up.
"""


def classFactory(iface):  # noqa: N802 - the name QGIS looks for
    """Build the plugin object; also puts the plugin-private dependency folder on sys.path."""
    from .services.installer.dependencies import add_private_site_to_path
    from .plugin import GeoDecoderPlugin

    add_private_site_to_path()
    return GeoDecoderPlugin(iface)
