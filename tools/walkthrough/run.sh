#!/bin/sh
# Issue 20's walk-through in a real QGIS 3.22 window under Xvfb (see drive.py).
#   tools/walkthrough/run.sh OUT_DIR SAMPLES_DIR MANY_PHOTOS_DIR
# Needs: apt-get install xvfb xdotool imagemagick; the venv (make venv).  A throwaway QGIS
# profile and home under OUT_DIR; the plugin is this checkout, linked into the profile.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "$1"); SAMPLES=$(realpath "$2"); MANY=$(realpath "$3")
# OUT is wiped: only a new folder or one this script made before (its marker inside)
if [ -e "$OUT" ] && [ ! -e "$OUT/.geodecoder-walkthrough" ]; then
    echo "$OUT exists and was not made by this script: give a new folder" >&2; exit 2
fi
rm -rf "$OUT"; mkdir -p "$OUT"; touch "$OUT/.geodecoder-walkthrough"; mkdir -p "$OUT/cfg/profiles/default/python/plugins" "$OUT/cfg/profiles/default/QGIS" "$OUT/home" "$OUT/models"
ln -s "$ROOT" "$OUT/cfg/profiles/default/python/plugins/geodecoder"
printf '[PythonPlugins]\ngeodecoder=true\n' > "$OUT/cfg/profiles/default/QGIS/QGIS3.ini"
export QGIS_CUSTOM_CONFIG_PATH="$OUT/cfg" HOME="$OUT/home" GEODECODER_MODELS_DIR="$OUT/models"
export PYTHONPATH="$ROOT/.venv/lib/python3.11/site-packages"
# the README's command, run first: its RUN file is opened in the window with Open run...
cd "$OUT"
QT_QPA_PLATFORM=offscreen /usr/bin/qgis_process.bin run geodecoder:geolocate_photos -- \
    INPUT="$SAMPLES" RUN="$OUT/case.gpkg" > "$OUT/qgis_process.txt" 2>&1
Xvfb :77 -screen 0 1600x1000x24 -nolisten tcp > "$OUT/xvfb.txt" 2>&1 &
XVFB=$!
trap 'kill $XVFB 2>/dev/null' EXIT
sleep 2
export DISPLAY=:77 WT_ROOT="$ROOT" WT_OUT="$OUT" WT_SAMPLES="$SAMPLES" WT_MANY="$MANY" WT_CASE="$OUT/case.gpkg"
timeout 3000 /usr/bin/qgis --nologo --noversioncheck --code "$ROOT/tools/walkthrough/start.py" \
    > "$OUT/qgis.txt" 2>&1 || echo "qgis exited $?"
tail -3 "$OUT/log.txt"
