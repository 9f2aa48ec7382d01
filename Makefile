# GeoDecoder for QGIS. `make setup` once on a fresh Debian 12 machine, then `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGIN := geodecoder
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)
QGIS_PROFILE ?= $(HOME)/.local/share/QGIS/QGIS3/profiles/default
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup apt venv test test-qgis-one-process lint demo bench package deploy screenshots clean default-model

setup: apt venv

apt:
	@if ! /usr/bin/python3 -c "import qgis.core, osgeo.ogr" 2>/dev/null || [ ! -x /usr/bin/qgis_process.bin ] || ! command -v pdftotext >/dev/null; then \
	  echo "installing QGIS from Debian (python3-qgis, qgis, qgis-providers, gdal-bin, poppler-utils)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y \
	    python3-qgis qgis qgis-providers python3-gdal gdal-bin python3-venv poppler-utils; \
	fi

venv:
	@[ -x $(PY) ] || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -r requirements-dev-nodeps.txt

# The engine's tests in one process, each QGIS test file in a process of its own: a
# segfault inside QGIS's C++ (seen twice in seven full runs when all the QGIS tests
# shared one process) then ends one file's run and names it instead of ending the whole
# suite.  The crash is a map render thread reading the project while Processing's
# post-processors change it (a core dump's backtrace; docs/KNOWN_ISSUES.md, "One QGIS
# process"); not fixed, so CI stays on this.  Exit status 1 if any part failed.
QGIS_TESTS := $(sort $(filter-out tests/test_plugin_fixtures.py,$(wildcard tests/test_plugin_*.py)) tests/test_case_report.py)

test:
	@rc=0; $(PY) -m pytest $(addprefix --ignore=,$(QGIS_TESTS)) || rc=1; \
	for f in $(QGIS_TESTS); do $(PY) -m pytest -q $$f || rc=1; done; exit $$rc

# Every QGIS test in ONE process, as a user's QGIS session runs the plugin: the dock's
# runs, Processing, case reports and the rest share one QgsApplication.  A crash prints
# every Python thread's stack (faulthandler); "Thread 0x..." without a "Current thread"
# means the crash was in a C++ thread (the render race in docs/KNOWN_ISSUES.md, 1 run in 3).
test-qgis-one-process:
	PYTHONFAULTHANDLER=1 $(PY) -m pytest -p no:cacheprovider $(QGIS_TESTS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/bandit -q -r inference services ui plugin.py processing_provider -x tests

# The main job: geolocate the sample photos with the default model (or MODEL=bundle/).
demo:
	@if [ -z "$(MODEL)" ] && ! $(PY) -c "import sys; from inference.modeling.defaults import default_bundle_path as d; sys.exit(d() is None)"; then \
	  $(PY) -c "from inference.modeling.defaults import NO_DEFAULT_MODEL as m; print('make demo: ' + m)"; \
	else \
	  $(PY) -m inference predict resources/samples $(if $(MODEL),--model $(MODEL)) --out demo.gpkg --csv demo.csv; \
	fi

bench:
	$(PY) benchmarks/bench.py
	$(PY) benchmarks/bench_geoclip.py
	$(PY) benchmarks/bench_qgis.py
	$(PY) benchmarks/bench_exports.py

# Retrain the shipped default model from ../shared/data (im2gps3k-train + MP-16 locations):
# same split, cells and recipe as resources/models/default/MODEL.md (about 10 min on 2 cores).
default-model:
	$(PY) tools/default_model.py build

package:
	$(PY) tools/package.py --out dist/$(PLUGIN)-$(VERSION).zip

deploy: package
	mkdir -p "$(QGIS_PROFILE)/python/plugins"
	rm -rf "$(QGIS_PROFILE)/python/plugins/$(PLUGIN)"
	cd "$(QGIS_PROFILE)/python/plugins" && "$(CURDIR)/$(PY)" -m zipfile -e "$(CURDIR)/dist/$(PLUGIN)-$(VERSION).zip" .
	@echo "installed into $(QGIS_PROFILE)/python/plugins/$(PLUGIN)"

screenshots:
	$(PY) tools/render_screenshots.py

clean:
	rm -rf dist build .pytest_cache .ruff_cache .qgis-settings
