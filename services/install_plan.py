"""What the Install button will download, decided and said before anything starts.

PyPI's Linux torch is the CUDA build: with its ``nvidia-*`` packages it puts about 6 GB
into the profile, which a machine without an NVIDIA GPU can never use.  So the plan is
made from the GPUs ``nvidia-smi`` reports: without one, PyTorch's CPU build comes from
PyTorch's own CPU index (given as an *extra* index, so a pip.conf mirror still serves
every other package; its ``+cpu`` versions win over PyPI's equal versions); with one,
the CUDA build from PyPI.  macOS and Windows get PyPI's build, which is already
CPU-only (Windows) or CPU + Apple GPU (macOS).

``nvidia-smi`` runs through ``QProcess`` (no ``subprocess``: see install_panel.py).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Optional, Sequence

from .i18n import tr

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Sizes in MB, rounded up.  CPU: torch-2.13.0+cpu manylinux wheel 192 MB, installed 754 MB
# (measured here).  CUDA: torch + nvidia-* wheels, 5.7 GB installed (issue 11 report).
# Others: scipy, sympy, networkx, pyproj, shapely, Pillow, the backbone weights... together.
TORCH_SIZES = {"cpu": (200, 760), "cuda": (3000, 5800), "pypi": (200, 760)}
OTHER_SIZES = (80, 350)
SMI_ARGS = ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]
SMI_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_mib: int

    def describe(self) -> str:
        return tr("{name} ({gb:.0f} GB)").format(name=self.name, gb=self.memory_mib / 1024)


def parse_nvidia_smi(text: str) -> list[Gpu]:
    """Lines ``name, memory MiB`` of ``nvidia-smi --query-gpu=name,memory.total
    --format=csv,noheader,nounits``; lines that do not parse are skipped."""
    gpus = []
    for line in text.splitlines():
        name, _, memory = line.rpartition(",")
        try:
            mib = int(float(memory.strip().split()[0]))
        except (ValueError, IndexError):
            continue
        if name.strip():
            gpus.append(Gpu(name.strip(), mib))
    return gpus


def detect_nvidia_gpus(program: str = "nvidia-smi") -> list[Gpu]:
    """The NVIDIA GPUs the driver reports; [] without a driver, nvidia-smi or GPU."""
    from qgis.PyQt.QtCore import QProcess

    process = QProcess()
    process.start(program, SMI_ARGS)
    if not process.waitForStarted(SMI_TIMEOUT_MS):
        return []
    if not process.waitForFinished(SMI_TIMEOUT_MS):
        process.kill()
        process.waitForFinished(1000)
        return []
    if process.exitStatus() != QProcess.NormalExit or process.exitCode() != 0:
        return []
    return parse_nvidia_smi(bytes(process.readAllStandardOutput()).decode("utf-8", "replace"))


@dataclass(frozen=True)
class InstallPlan:
    """What pip will fetch: the torch build, the extra index and the sizes."""

    torch_build: Optional[str]  # "cpu", "cuda", "pypi" (macOS/Windows), None: torch present
    extra_index: Optional[str]  # added to pip's indexes (PyTorch's CPU index), or None
    download_mb: int
    disk_mb: int
    reason: str  # one sentence: which build and why (the GPU found, or none)

    def summary(self) -> str:
        size = tr("about {d} download, about {s} on disk").format(
            d=megabytes(self.download_mb), s=megabytes(self.disk_mb))
        return f"{self.reason} {size}." if self.reason else size + "."


def megabytes(mb: float) -> str:
    if mb >= 1000:
        return tr("{v:.1f} GB").format(v=mb / 1000)
    return tr("{v:.0f} MB").format(v=mb) if mb >= 1 else tr("under 1 MB")


def plan_install(missing_modules: Sequence[str], gpus: Sequence[Gpu],
                 platform: str = sys.platform) -> InstallPlan:
    """The plan for the missing modules (import names) on `platform` with `gpus`."""
    others = [m for m in missing_modules if m != "torch"]
    download, disk = OTHER_SIZES if others else (0, 0)
    if "torch" not in missing_modules:
        return InstallPlan(None, None, download, disk, "")
    gpu_text = ", ".join(g.describe() for g in gpus)
    if platform.startswith("linux"):
        if gpus:
            build, index = "cuda", None
            reason = tr("NVIDIA GPU found: {gpus}. PyTorch's CUDA build will be installed "
                        "(with NVIDIA's CUDA libraries).").format(gpus=gpu_text)
        else:
            build, index = "cpu", CPU_INDEX
            reason = tr("No NVIDIA GPU found: PyTorch's CPU build will be installed (from "
                        "{index}), not the CUDA build.").format(index=CPU_INDEX)
    elif platform == "darwin":
        build, index = "pypi", None
        reason = tr("PyTorch's macOS build will be installed (CPU and Apple GPU).")
    else:
        build, index = "pypi", None
        reason = tr("PyTorch's CPU build will be installed.")
        if gpus:
            reason += " " + tr("NVIDIA GPU found: {gpus}; PyPI has no CUDA build for "
                               "Windows: for the GPU, install one from pytorch.org into the "
                               "folder below.").format(gpus=gpu_text)
    t_download, t_disk = TORCH_SIZES[build]
    return InstallPlan(build, index, download + t_download, disk + t_disk, reason)


def torch_build_of(version: str, distributions: Sequence[str] = ()) -> str:
    """"CPU build", "CUDA build" or "" from torch's version (2.13.0+cpu, 2.5.1+cu121)
    and the distributions installed beside it (PyPI's CUDA build has no local tag but
    brings nvidia-* packages)."""
    local = version.partition("+")[2].lower()
    if local.startswith("cu") or any(d.lower().startswith("nvidia-") for d in distributions):
        return tr("CUDA build")
    if local == "cpu":
        return tr("CPU build")
    return ""
