"""The "missing packages" panel: says exactly what is missing and installs it on click.

pip runs through Qt's ``QProcess`` (not ``subprocess``): it is asynchronous, so the
dock stays responsive while torch downloads, its output streams into the log, and it
keeps the plugin free of the Bandit subprocess findings that block plugin uploads.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional, Sequence

from qgis.PyQt.QtCore import QProcess, pyqtSignal
from qgis.PyQt.QtWidgets import QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from .dependencies import (
    Requirement,
    add_private_site_to_path,
    missing_requirements,
    pip_arguments,
    private_site_dir,
    python_executable,
    write_constraints,
)
from .i18n import tr


class InstallPanel(QWidget):
    """Hidden when nothing is missing; otherwise lists the missing packages."""

    installFinished = pyqtSignal(bool)  # True when nothing is missing any more

    def __init__(self, parent: Optional[QWidget] = None,
                 requirements: Optional[Sequence[Requirement]] = None,
                 target: Optional[Path] = None):
        super().__init__(parent)
        self.setObjectName("geodecoderInstallPanel")
        self._requirements = requirements
        self.target = Path(target) if target is not None else private_site_dir()
        self.missing: list[Requirement] = []
        self.process: Optional[QProcess] = None
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("geodecoderMissingLabel")
        self.install_button = QPushButton(tr("Install"))
        self.install_button.setObjectName("geodecoderInstallButton")
        self.install_button.clicked.connect(self.start_install)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setObjectName("geodecoderInstallLog")
        self.log.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.message, self.install_button, self.log):
            layout.addWidget(widget)
        self.refresh()

    def refresh(self) -> list[Requirement]:
        """Re-check the packages and show what is missing (hide when nothing is)."""
        if self._requirements is None:
            self.missing = missing_requirements()
        else:
            self.missing = missing_requirements(self._requirements)
        names = ", ".join(f"{r.module} ({r.purpose})" for r in self.missing)
        self.message.setText(
            tr("Missing Python packages: {names}. Click Install to download them from PyPI "
               "into {folder} (nothing is downloaded until you click).")
            .format(names=names, folder=self.target))
        self.setVisible(bool(self.missing))
        return self.missing

    def install_command(self) -> tuple[str, list[str]]:
        """(program, arguments) of the pip run, for the log and for tests."""
        constraints = write_constraints(self.target.parent)
        return python_executable(), pip_arguments(self.missing, self.target, constraints)

    def start_install(self) -> None:
        if not self.missing or self.process is not None:
            return
        program, arguments = self.install_command()
        self.log.setVisible(True)
        self.log.appendPlainText(" ".join([program, *arguments]))
        self.install_button.setEnabled(False)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._failed_to_start)
        self.process.start(program, arguments)

    def _read_output(self) -> None:
        if self.process is not None:
            data = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
            self.log.appendPlainText(data.rstrip())

    def _failed_to_start(self, error) -> None:
        if error == QProcess.FailedToStart and self.process is not None:
            self.log.appendPlainText(tr("Could not start {program}: {error}").format(
                program=self.process.program(), error=self.process.errorString()))
            self._finished(-1, QProcess.CrashExit)

    def _finished(self, code: int, _status=None) -> None:
        if self.process is None:
            return
        self._read_output()
        self.process = None
        add_private_site_to_path(self.target)
        importlib.invalidate_caches()
        still = self.refresh()
        self.install_button.setEnabled(True)
        if still:
            self.log.appendPlainText(tr("pip ended with code {code}; still missing: {names}")
                                     .format(code=code, names=", ".join(r.module for r in still)))
        else:
            self.log.appendPlainText(tr("All packages are installed."))
        self.setVisible(True)  # keep the log readable until the dock is rebuilt
        self.installFinished.emit(not still)
