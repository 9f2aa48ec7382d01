"""The Model tab's downloaded models, in real QGIS: a row per catalog model, Download
only from its click and after a question that shows the licence and limits, the
download in a QgsTask through QGIS's network manager against a loopback Hub and PyPI
(tests/model_server.py), progress, a cut resumed with Range, Cancel, Import folder…,
Remove, and the models folder shown and set."""

from __future__ import annotations

import os

import pytest
from qgis.PyQt.QtCore import Qt

from tests.model_server import (SAFETENSORS, Behaviour, ModelServer, dead_endpoints,
                                make_files, set_env, store_files, write_catalog)
from tests.test_plugin_fixtures import import_plugin, spin_until

import_plugin()
from geodecoder.inference.models.catalog import load_catalog  # noqa: E402
from geodecoder.inference.models.store import installed_model_dir  # noqa: E402
from geodecoder.services.settings import DockSettings  # noqa: E402
from geodecoder.ui.dock import GeolocateDock  # noqa: E402


def _answer_next_question(button) -> list:
    """Click `button` in the next modal message box; returns [its text] once shown."""
    from qgis.PyQt.QtCore import QTimer
    from qgis.PyQt.QtWidgets import QApplication, QMessageBox

    seen = []

    def click():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(20, click)

    QTimer.singleShot(20, click)
    return seen


@pytest.fixture()
def files():
    return make_files(clip_size=400_000)


@pytest.fixture()
def catalog_env(tmp_path, files, monkeypatch):
    path = write_catalog(tmp_path / "catalog.json", files)
    monkeypatch.setenv("GEODECODER_MODELS_CATALOG", str(path))
    monkeypatch.delenv("GEODECODER_MODELS_DIR", raising=False)
    return load_catalog(path)


@pytest.fixture()
def dock(qgis_iface, catalog_env, tmp_path, monkeypatch):
    DockSettings().save()
    widget = GeolocateDock()
    qgis_iface.addDockWidget(Qt.RightDockWidgetArea, widget)
    # the models folder, set in the dock as a user would
    widget.models.folder.setFilePath(str(tmp_path / "models"))
    yield widget
    widget.models.shutdown()
    widget.deleteLater()


def _row(dock):
    return dock.models.rows["geoclip"]


def _wait(row, seconds=60.0) -> None:
    assert spin_until(lambda: row.task is None, seconds=seconds), row.message.text()


def test_a_download_starts_from_the_click_shows_progress_and_resumes_a_cut(
        dock, catalog_env, files, tmp_path, monkeypatch):
    from qgis.PyQt.QtWidgets import QMessageBox

    root = tmp_path / "models"
    assert dock.models.root() == root and os.environ["GEODECODER_MODELS_DIR"] == str(root)
    assert str(root) in dock.models.folder_label.text()
    assert DockSettings.load().models_dir == str(root)  # remembered
    row = _row(dock)
    assert "MIT" in row.info.text() and "not downloaded" in row.info.text()
    with ModelServer(files, Behaviour(cut_after={SAFETENSORS: 90_000})) as srv:
        set_env(monkeypatch, srv.env())
        seen = _answer_next_question(QMessageBox.No)
        row.download_button.click()
        assert seen and "Licence: MIT" in seen[0] and "surveillance" in seen[0], seen
        assert "14.1 / 34.5 / 50.7 / 69.7 / 83.8 %" in seen[0]
        assert row.task is None and srv.log == []  # no answer yes, no request

        values = []
        row.progress.valueChanged.connect(values.append)
        _answer_next_question(QMessageBox.Yes)
        row.download_button.click()
        _wait(row)
        assert "broke off" in row.message.text(), row.message.text()
        assert installed_model_dir("geoclip", root, catalog_env) is None
        assert not (root / "geoclip").exists()
        assert "partly downloaded" in row.info.text()
        assert values and max(values) > 0

        values.clear()
        _answer_next_question(QMessageBox.Yes)
        row.download_button.click()
        _wait(row)
    assert "Installed and verified" in row.message.text(), row.message.text()
    assert max(values) == 100
    ranges = [r for p, r in srv.log if p.startswith("/cdn/")]
    assert ranges == [None, "bytes=90000-"]  # resumed through QGIS, across the redirect
    # QgsNetworkAccessManager stamps its own User-Agent: the bytes came through QGIS
    assert srv.agents and all(a.startswith("Mozilla/5.0 QGIS/") for a in srv.agents), srv.agents
    assert srv.served[SAFETENSORS] == len(files[SAFETENSORS])
    assert installed_model_dir("geoclip", root, catalog_env, full_check=True) == root / "geoclip"
    assert "installed" in row.info.text()
    assert not row.download_button.isEnabled() and row.remove_button.isEnabled()

    _answer_next_question(QMessageBox.Yes)
    row.remove_button.click()
    assert not (root / "geoclip").exists()
    assert "not downloaded" in row.info.text() and row.download_button.isEnabled()


def test_cancel_stops_a_download_and_the_next_one_resumes(dock, catalog_env, files,
                                                          tmp_path, monkeypatch):
    from qgis.PyQt.QtWidgets import QMessageBox

    root = tmp_path / "models"
    part = root / ".partial" / "geoclip" / (SAFETENSORS + ".part")
    row = _row(dock)
    with ModelServer(files, Behaviour(slow=0.05)) as srv:
        set_env(monkeypatch, srv.env())
        _answer_next_question(QMessageBox.Yes)
        row.download_button.click()
        assert row.cancel_button.isEnabled() and not row.download_button.isEnabled()
        assert spin_until(lambda: part.is_file() and part.stat().st_size > 32768, seconds=30)
        row.cancel_button.click()
        _wait(row)
        assert "Stopped" in row.message.text(), row.message.text()
        kept = part.stat().st_size
        assert 0 < kept < len(files[SAFETENSORS])
        assert installed_model_dir("geoclip", root, catalog_env) is None
        srv.behaviour.slow = 0.0
        _answer_next_question(QMessageBox.Yes)
        row.download_button.click()
        _wait(row)
    assert "Installed and verified" in row.message.text(), row.message.text()
    resumed = [r for p, r in srv.log if p.startswith("/cdn/")][-1]
    assert resumed is not None and int(resumed[6:-1]) >= kept
    assert installed_model_dir("geoclip", root, catalog_env, full_check=True) is not None


def test_an_unreachable_server_says_what_to_do_and_import_folder_works_offline(
        dock, catalog_env, files, tmp_path, monkeypatch):
    from qgis.PyQt.QtWidgets import QMessageBox

    from tests.model_server import WHEEL

    root = tmp_path / "models"
    row = _row(dock)
    set_env(monkeypatch, dead_endpoints())
    _answer_next_question(QMessageBox.Yes)
    row.download_button.click()
    _wait(row)
    text = row.message.text()
    assert "cannot be reached" in text and "Import folder" in text and "\n" not in text, text
    assert not root.exists() or store_files(root) == []

    copied = tmp_path / "usb"
    copied.mkdir()
    (copied / SAFETENSORS).write_bytes(files[SAFETENSORS])
    (copied / WHEEL).write_bytes(files[WHEEL])
    seen = _answer_next_question(QMessageBox.Yes)
    task = row.import_from(copied)
    assert task is not None and str(copied) in seen[0]
    _wait(row)
    assert "Installed and verified" in row.message.text(), row.message.text()
    assert installed_model_dir("geoclip", root, catalog_env, full_check=True) == root / "geoclip"
