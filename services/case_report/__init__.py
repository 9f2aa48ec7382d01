"""Case reports: the facts read from a run and checked against the files (``facts``),
their words (``text``), map (``case_map``), print layout (``layout``), "Why here?"
computed again (``attention``), the photo's EXIF facts (``photo_exif``), the PDF writer
(``report``) and its background task (``task``)."""
