"""The "missing packages" panel: says exactly what is missing and installs it on click.

Before anything starts it says which PyTorch build it will fetch and why (the NVIDIA GPU
found, or none: then the CPU build, not PyPI's 6 GB CUDA build) and how much that is;
after pip ends it says what is now installed (names, versions, the torch build, the
folder's size) and stays open until the user closes it.  pip runs with the Python QGIS
itself runs (``dependencies.python_executable``), never a ``python3`` found on PATH.

pip runs through Qt's ``QProcess`` (not ``subprocess``): it is asynchronous, so the
dock stays responsive while torch downloads, its output streams into the log, and it
keeps the plugin free of the Bandit subprocess findings that block plugin uploads.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from qgis.PyQt.QtCore import QProcess, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..services.dependencies import (
    REQUIREMENTS,
    InterpreterNotFound,
    Requirement,
    add_private_site_to_path,
    folder_size_mb,
    installed_distributions,
    is_available,
    missing_requirements,
    pip_arguments,
    private_site_dir,
    python_executable,
    write_constraints,
)
from ..services.i18n import tr
from ..services.install_plan import (
    Gpu,
    InstallPlan,
    detect_nvidia_gpus,
    megabytes,
    plan_install,
    torch_build_of,
)


def _dist_name(requirement: Requirement) -> str:
    name = requirement.pip_name
    for sep in "<>=!~;[ ":
        name = name.split(sep)[0]
    return name.strip().lower()


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _is_torch(requirement: Requirement) -> bool:
    return requirement.module == "torch" or _dist_name(requirement) == "torch"


class InstallPanel(QWidget):
    """Hidden when nothing is missing; otherwise lists the missing packages and the plan.
    After an install it shows what was installed until closed."""

    installFinished = pyqtSignal(bool)  # True when nothing is missing any more

    def __init__(self, parent: Optional[QWidget] = None,
                 requirements: Optional[Sequence[Requirement]] = None,
                 target: Optional[Path] = None,
                 gpu_detector: Optional[Callable[[], list[Gpu]]] = None,
                 platform: str = sys.platform):
        super().__init__(parent)
        self.setObjectName("geodecoderInstallPanel")
        self._requirements = requirements
        self.target = Path(target) if target is not None else private_site_dir()
        self._gpu_detector = gpu_detector or detect_nvidia_gpus
        self._gpus: Optional[list[Gpu]] = None  # detected once, when torch is missing
        self.platform = platform
        self.missing: list[Requirement] = []
        self.plan: Optional[InstallPlan] = None
        self.process: Optional[QProcess] = None
        self.report_open = False  # the result of the last install is shown
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("geodecoderMissingLabel")
        self.install_button = QPushButton(tr("Install"))
        self.install_button.setObjectName("geodecoderInstallButton")
        self.install_button.clicked.connect(self.start_install)
        self.close_button = QPushButton(tr("Close"))
        self.close_button.setObjectName("geodecoderInstallClose")
        self.close_button.clicked.connect(self.dismiss)
        self.close_button.setVisible(False)
        self.report = QLabel()
        self.report.setObjectName("geodecoderInstallReport")
        self.report.setWordWrap(True)
        self.report.setVisible(False)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setObjectName("geodecoderInstallLog")
        self.log.setVisible(False)
        self.log.setMaximumHeight(160)
        buttons = QHBoxLayout()
        buttons.addWidget(self.install_button)
        buttons.addWidget(self.close_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addWidget(self.report)
        layout.addWidget(self.log)
        self.refresh()

    # ------------------------------------------------------------------ checking
    def gpus(self) -> list[Gpu]:
        if self._gpus is None:
            self._gpus = list(self._gpu_detector())
        return self._gpus

    def refresh(self) -> list[Requirement]:
        """Re-check the packages and show what is missing and what Install will fetch
        (hidden when nothing is missing and no install report is open)."""
        if self._requirements is None:
            self.missing = missing_requirements()
        else:
            self.missing = missing_requirements(self._requirements)
        if self.missing:
            torch_missing = any(_is_torch(r) for r in self.missing)
            modules = ["torch" if _is_torch(r) else r.module for r in self.missing]
            self.plan = plan_install(modules, self.gpus() if torch_missing else [],
                                     self.platform)
            names = ", ".join(f"{r.module} ({r.purpose})" for r in self.missing)
            self.message.setText(
                tr("Missing Python packages: {names}.\n{plan}\nInstall downloads them into "
                   "{folder} (nothing is downloaded until you click).")
                .format(names=names, plan=self.plan.summary(), folder=self.target))
            self.install_button.setText(tr("Install (about {size})").format(
                size=megabytes(self.plan.download_mb)))
        else:
            self.plan = None
            self.message.setText(tr("Every Python package the plugin needs is installed."))
        self.install_button.setVisible(bool(self.missing))
        self.setVisible(bool(self.missing) or self.report_open)
        return self.missing

    def dismiss(self) -> None:
        """Close the install report (the panel hides when nothing is missing)."""
        self.report_open = False
        self.report.setVisible(False)
        self.close_button.setVisible(False)
        self.log.setVisible(False)
        self.refresh()

    # ------------------------------------------------------------------ installing
    def install_command(self) -> tuple[str, list[str]]:
        """(program, arguments) of the pip run, for the log and for tests; raises
        InterpreterNotFound when QGIS's own Python cannot be found."""
        program = python_executable()
        constraints = write_constraints(self.target.parent)
        index = self.plan.extra_index if self.plan is not None else None
        return program, pip_arguments(self.missing, self.target, constraints, index)

    def start_install(self) -> None:
        if not self.missing or self.process is not None:
            return
        self.log.setVisible(True)
        try:
            program, arguments = self.install_command()
        except InterpreterNotFound as exc:
            self._show_report(str(exc), ok=False)
            return
        if not is_available("pip"):
            self._show_report(tr("pip is not installed for QGIS's Python ({python}): install "
                                 "it (Debian/Ubuntu: sudo apt install python3-pip), then "
                                 "click Install again.").format(python=program), ok=False)
            return
        if self.plan is not None:
            self.log.appendPlainText(self.plan.summary())
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
        self.missing = missing_requirements(self._requirements) \
            if self._requirements is not None else missing_requirements()
        self.install_button.setEnabled(True)
        text = self.installed_text()
        if self.missing:
            text = tr("pip ended with code {code}; still missing: {names}. See the log below."
                      ).format(code=code, names=", ".join(r.module for r in self.missing)) \
                + ("\n" + text if text else "")
        self._show_report(text, ok=not self.missing)
        self.installFinished.emit(not self.missing)

    def installed_text(self) -> str:
        """What the private folder now holds: the packages asked for with their version
        (torch with its build), the number of other packages, the folder's size."""
        if not self.target.is_dir():
            return ""
        dists = installed_distributions(self.target)
        by_name = {_normal(name): (name, version) for name, version in dists}
        asked = self._requirements if self._requirements is not None else REQUIREMENTS
        wanted = []
        for r in asked:
            hit = by_name.get(_normal(_dist_name(r))) or by_name.get(_normal(r.module))
            if hit is not None and hit not in wanted:
                wanted.append(hit)
        parts = []
        for name, version in wanted:
            build = torch_build_of(version, [d for d, _v in dists]) if name.lower() == "torch" \
                else ""
            parts.append(f"{name} {version}" + (f" ({build})" if build else ""))
        return tr("Installed into {folder} ({size} on disk): {packages}; with their "
                  "dependencies, {n} packages.").format(
            folder=self.target, size=megabytes(folder_size_mb(self.target)),
            packages=", ".join(parts) or tr("none of the packages asked for"), n=len(dists))

    def _show_report(self, text: str, ok: bool) -> None:
        prefix = tr("Done. ") if ok else tr("Not installed. ")
        self.report.setText(prefix + text)
        self.report.setVisible(True)
        self.report_open = True
        self.close_button.setVisible(True)
        self.log.appendPlainText(prefix + text)
        self.refresh()
