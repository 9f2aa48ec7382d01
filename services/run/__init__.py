"""A run in QGIS: the one door into the engine (``pipeline``), the background task
(``task``), the service that starts and follows tasks (``service``), the runs in the
project and what the dock shows of them (``project_runs``, ``layers``,
``result_details``, ``basemap``, ``attention_image``), the dock's request (``params``),
folder listing (``photo_scan``) and exports (``export``)."""
