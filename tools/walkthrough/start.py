# QGIS --code runs this text with exec(); the walk-through itself is imported as a module
# (drive.py), so that its functions live in a real module, not in exec()'s namespace.
import importlib.util as _util
import os as _os
import sys as _sys

_here = _os.path.join(_os.environ["WT_ROOT"], "tools", "walkthrough")
_spec = _util.spec_from_file_location("geodecoder_walkthrough", _os.path.join(_here, "drive.py"))
_module = _util.module_from_spec(_spec)
_sys.modules["geodecoder_walkthrough"] = _module
_spec.loader.exec_module(_module)
