"""The "missing packages" panel: says exactly what is missing and installs it on click.

Before anything starts it says which PyTorch build it will fetch and why (the NVIDIA GPU
found, or none: then the CPU build, not PyPI's 6 GB CUDA build) and how much that is;
after pip ends it says what is now installed (names, versions, the torch build, the
folder's size) and stays open until the user closes it.  pip runs with the Python QGIS
itself runs (``dependencies.python_executable``), never a ``python3`` found on PATH.

An install is a few steps, each a child process, run one after another (``install_steps``):

1. ``torch``: on Linux without an NVIDIA GPU, ``pip download`` of the one CPU torch wheel
   (``torch==X+cpu``) from PyTorch's CPU index only.  It runs first: if the index cannot
   be reached or has no wheel for this Python, the install stops here, nothing large has
   been downloaded and nothing installed, and the panel says why.
2. ``packages``: ``pip install --target`` of the missing packages at their tested pins
   from the user's configured indexes (PyPI or a pip.conf mirror), torch included from
   the folder step 1 filled (``--find-links``), with a constraints file pinning torch to
   that very build, so no dependency on torch can resolve to PyPI's CUDA build.
3. ``torch-only``: packages whose only dependency is torch, with ``--no-deps``
   (``pip --target`` ignores installed packages: resolving them would fetch a torch).
4. ``check``: a child Python imports the new torch and reports its version and CUDA
   version, compared with the plan; a mismatch is said plainly in the report.

pip runs through Qt's ``QProcess`` (not ``subprocess``): it is asynchronous, so the
dock stays responsive while torch downloads, its output streams into the log, and it
keeps the plugin free of the Bandit subprocess findings that block plugin uploads.
"""

from __future__ import annotations

import importlib
import platform as host
import shutil
import sys
from dataclasses import dataclass
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

from ..services.installer.dependencies import (
    REQUIREMENTS,
    TESTED_PINS,
    TORCH_ONLY_DEPENDENTS,
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
    torch_download_arguments,
    write_constraints,
)
from ..services.i18n import tr
from ..services.installer.plan import (
    PROBE_CODE,
    Gpu,
    InstallPlan,
    check_installed,
    detect_nvidia_gpus,
    megabytes,
    parse_probe,
    plan_install,
    torch_build_of,
    torch_unavailable,
)


def _dist_name(requirement: Requirement) -> str:
    return requirement.dist


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _is_torch(requirement: Requirement) -> bool:
    return requirement.module == "torch" or _dist_name(requirement) == "torch"


@dataclass(frozen=True)
class Step:
    """One child process of an install: `kind` is "torch", "packages", "torch-only" or
    "check" (see the module's docstring)."""

    kind: str
    program: str
    arguments: list


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
        self._steps: list[Step] = []  # the steps of the install still to run
        self._step: Optional[Step] = None  # the step running now
        self._output: list[str] = []  # what the running step printed
        self._probe: Optional[dict] = None  # the check step's result
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
            torch_missing = [r for r in self.missing if _is_torch(r)]
            modules = ["torch" if _is_torch(r) else r.module for r in self.missing]
            version = (torch_missing[0].version if torch_missing else None) \
                or TESTED_PINS["torch"]
            self.plan = plan_install(modules, self.gpus() if torch_missing else [],
                                     self.platform, version)
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
    @property
    def wheelhouse(self) -> Path:
        """Where torch's own call puts the CPU wheel: beside the target, never on
        sys.path; kept after a failed install (a retry does not fetch it again), removed
        after a successful one."""
        return self.target.parent / "wheels"

    def install_steps(self) -> list[Step]:
        """The child processes of an install, in order (see the module's docstring);
        raises InterpreterNotFound when QGIS's own Python cannot be found."""
        program = python_executable()
        plan = self.plan
        torch_pin = plan.torch_pin if plan is not None else None
        constraints = write_constraints(self.target.parent, torch_pin)
        steps = []
        find_links = None
        if plan is not None and plan.torch_index:
            steps.append(Step("torch", program, torch_download_arguments(
                plan.torch_pin, plan.torch_index, self.wheelhouse)))
            find_links = self.wheelhouse
        main, torch_only = [], []
        for r in self.missing:
            if _is_torch(r) and torch_pin:
                main.append(Requirement(r.module, torch_pin, r.purpose))
            elif r.dist in TORCH_ONLY_DEPENDENTS:
                torch_only.append(r)
            else:
                main.append(r)
        if main:
            steps.append(Step("packages", program, pip_arguments(
                main, self.target, constraints, find_links)))
        if torch_only:
            steps.append(Step("torch-only", program, pip_arguments(
                torch_only, self.target, constraints, no_deps=True)))
        if plan is not None and plan.torch_build is not None:
            steps.append(Step("check", program, ["-c", PROBE_CODE, str(self.target)]))
        return steps

    def install_command(self) -> tuple[str, list[str]]:
        """(program, arguments) of the ``pip install`` step, for the log and for tests."""
        steps = [s for s in self.install_steps() if s.kind in ("packages", "torch-only")]
        return (steps[0].program, steps[0].arguments) if steps else (python_executable(), [])

    def start_install(self) -> None:
        if not self.missing or self.process is not None:
            return
        self.log.setVisible(True)
        try:
            self._steps = self.install_steps()
        except InterpreterNotFound as exc:
            self._show_report(str(exc), ok=False)
            return
        program = self._steps[0].program
        if not is_available("pip"):
            self._show_report(tr("pip is not installed for QGIS's Python ({python}): install "
                                 "it (Debian/Ubuntu: sudo apt install python3-pip), then "
                                 "click Install again.").format(python=program), ok=False)
            return
        if self.plan is not None:
            self.log.appendPlainText(self.plan.summary())
        self._probe = None
        self.install_button.setEnabled(False)
        self._run_next()

    def _run_next(self) -> None:
        step = self._steps.pop(0)
        self._step, self._output = step, []
        shown = ["-c", "<check: import torch>", *step.arguments[2:]] \
            if step.kind == "check" else step.arguments
        self.log.appendPlainText(" ".join([step.program, *shown]))
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._failed_to_start)
        self.process.start(step.program, step.arguments)

    def _read_output(self) -> None:
        if self.process is not None:
            data = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
            self._output.append(data)
            if self._step.kind != "check":
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
        step, output = self._step, "".join(self._output)
        if step.kind == "torch" and code != 0:
            self._steps = []
            self.install_button.setEnabled(True)
            self._show_report(torch_unavailable(self.plan, output, step.program,
                                                str(self.target), host.machine()), ok=False)
            self.installFinished.emit(False)
            return
        if step.kind == "check":
            self._probe = parse_probe(output)
            self.log.appendPlainText(
                tr("Check: torch does not import: {error}").format(error=self._probe["error"])
                if "error" in self._probe else
                tr("Check: torch {version} imports, CUDA: {cuda}.").format(
                    version=self._probe.get("version"),
                    cuda=self._probe.get("cuda") or tr("none")))
        if step.kind in ("packages", "torch-only") and code != 0:
            self._steps = []  # a failed pip install: nothing more to run or check
        if self._steps:
            self._run_next()
            return
        self._done(code if step.kind != "check" else 0)

    def _done(self, code: int) -> None:
        """The last step ended: say what is installed and whether it is what was planned."""
        if code == 0 and self.wheelhouse.is_dir():
            shutil.rmtree(self.wheelhouse, ignore_errors=True)
        add_private_site_to_path(self.target)
        importlib.invalidate_caches()
        self.missing = missing_requirements(self._requirements) \
            if self._requirements is not None else missing_requirements()
        self.install_button.setEnabled(True)
        text = self.installed_text()
        problems = self.mismatches() if code == 0 else []
        if self.missing:
            text = tr("pip ended with code {code}; still missing: {names}. See the log below."
                      ).format(code=code, names=", ".join(r.module for r in self.missing)) \
                + ("\n" + text if text else "")
        prefix = None
        if problems:
            prefix = tr("Installed, but not what was promised: ")
            text = tr("{problems} Delete {folder} and click Install again, or report this "
                      "with the log below.").format(problems=" ".join(problems),
                                                    folder=self.target) + "\n" + text
        self._show_report(text, ok=not self.missing, prefix=prefix)
        self.installFinished.emit(not self.missing)

    def mismatches(self) -> list[str]:
        """What differs from the plan (``install_plan.check_installed``): the torch build
        the check step imported, the versions pip put into the folder."""
        if self.plan is None:
            return []
        asked = self._requirements if self._requirements is not None else REQUIREMENTS
        pins = {r.dist: r.version for r in asked if r.version}
        installed = installed_distributions(self.target) if self.target.is_dir() else []
        return check_installed(self.plan, self._probe, pins, installed)

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

    def _show_report(self, text: str, ok: bool, prefix: Optional[str] = None) -> None:
        if prefix is None:
            prefix = tr("Done. ") if ok else tr("Not installed. ")
        self.report.setText(prefix + text)
        self.report.setVisible(True)
        self.report_open = True
        self.close_button.setVisible(True)
        self.log.appendPlainText(prefix + text)
        self.refresh()
