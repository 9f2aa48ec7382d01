"""Installing the engine's packages into a plugin-private folder: which are needed at
which tested version (``dependencies``) and what the Install button will download
(``plan``)."""
