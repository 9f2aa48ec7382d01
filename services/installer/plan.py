"""What the Install button will download, decided and said before anything starts.

PyPI's Linux torch is the CUDA build: with its ``nvidia-*`` packages it puts about 6 GB
into the profile, which a machine without an NVIDIA GPU can never use.  So the plan is
made from the GPUs ``nvidia-smi`` reports: without one, PyTorch's CPU build
(``torch==<tested version>+cpu``) comes from PyTorch's CPU index in a pip call of its own
that names only that index (never ``--extra-index-url``: with it, any index, PyPI
included, could serve a package of the same name); with one, the CUDA build from PyPI.
macOS and Windows get PyPI's build, which is already CPU-only (Windows) or CPU + Apple
GPU (macOS).  The version is always the tested pin of requirements.txt.

When the CPU build cannot be had the install stops there, before anything large is
downloaded, and says why (``torch_unavailable``); after an install, ``check_installed``
compares what a child Python imports with what the plan promised.

``nvidia-smi`` runs through ``QProcess`` (no ``subprocess``: see install_panel.py).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Optional, Sequence

from ..i18n import tr

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
    """What pip will fetch: the torch build and pin, torch's own index and the sizes."""

    torch_build: Optional[str]  # "cpu", "cuda", "pypi" (macOS/Windows), None: torch present
    torch_index: Optional[str]  # the only index torch's own pip call names, or None
    torch_pin: Optional[str]  # "torch==2.13.0+cpu" (CPU index) or "torch==2.13.0", or None
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
                 platform: str = sys.platform, torch_version: str = "") -> InstallPlan:
    """The plan for the missing modules (import names) on `platform` with `gpus`;
    `torch_version` is the tested pin (requirements.txt)."""
    others = [m for m in missing_modules if m != "torch"]
    download, disk = OTHER_SIZES if others else (0, 0)
    if "torch" not in missing_modules:
        return InstallPlan(None, None, None, download, disk, "")
    gpu_text = ", ".join(g.describe() for g in gpus)
    index = None
    pin = f"torch=={torch_version}"
    if platform.startswith("linux"):
        if gpus:
            build = "cuda"
            reason = tr("NVIDIA GPU found: {gpus}. PyTorch {v}'s CUDA build will be installed "
                        "(with NVIDIA's CUDA libraries).").format(gpus=gpu_text, v=torch_version)
        else:
            build, index, pin = "cpu", CPU_INDEX, f"torch=={torch_version}+cpu"
            reason = tr("No NVIDIA GPU found: PyTorch {v}'s CPU build will be installed, from "
                        "{index} only; if it cannot be had from there, nothing is installed "
                        "(never the CUDA build).").format(v=torch_version, index=CPU_INDEX)
    elif platform == "darwin":
        build = "pypi"
        reason = tr("PyTorch {v}'s macOS build will be installed (CPU and Apple GPU)."
                    ).format(v=torch_version)
    else:
        build = "pypi"
        reason = tr("PyTorch {v}'s CPU build will be installed.").format(v=torch_version)
        if gpus:
            reason += " " + tr("NVIDIA GPU found: {gpus}; PyPI has no CUDA build for "
                               "Windows: for the GPU, install one from pytorch.org into the "
                               "folder below.").format(gpus=gpu_text)
    t_download, t_disk = TORCH_SIZES[build]
    return InstallPlan(build, index, pin, download + t_download, disk + t_disk, reason)


_UNREACHABLE = ("could not fetch url", "newconnectionerror", "connection error",
                "max retries exceeded", "proxyerror", "sslerror", "timed out",
                "name or service not known", "temporary failure in name resolution",
                "connecttimeout", "readtimeout", "connection refused")


def torch_unavailable(plan: InstallPlan, pip_output: str, python: str, target: str,
                      machine: str = "") -> str:
    """Why torch's own pip call failed, from its output, and what the user can do; says
    that nothing was installed (that call runs first) and that no other build was."""
    text = pip_output.lower()
    if any(marker in text for marker in _UNREACHABLE):
        why = tr("{index} could not be reached (no network, a proxy or a firewall).")
    elif "no matching distribution" in text or "could not find a version" in text:
        why = tr("{index} has no {pin} wheel for Python {py} on this system ({machine}).")
    else:
        why = tr("pip could not download {pin} from {index}; see the log below.")
    why = why.format(index=plan.torch_index, pin=plan.torch_pin, machine=machine or sys.platform,
                     py=f"{sys.version_info[0]}.{sys.version_info[1]}")
    return why + " " + tr(
        "Nothing was installed, and PyPI's CUDA build (about 6 GB) was not fetched instead. "
        "Check the network or the proxy (pip reads pip.conf) and click Install again, or "
        "install the CPU build yourself: {python} -m pip install --target {target} "
        "--index-url {index} {pin}").format(python=python, target=target,
                                            index=plan.torch_index, pin=plan.torch_pin)


# Run in QGIS's Python as a child process after an install: importing torch there (not in
# QGIS) says which build landed, and a torch that crashes on import cannot take QGIS down.
PROBE_MARK = "GEODECODER-PROBE "
PROBE_CODE = (
    "import json, sys\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "out = {}\n"
    "try:\n"
    "    import torch\n"
    "    out = {'version': str(torch.__version__), 'cuda': torch.version.cuda,\n"
    "           'file': str(torch.__file__)}\n"
    "except Exception as exc:\n"
    "    out = {'error': type(exc).__name__ + ': ' + str(exc)}\n"
    "print(" + repr(PROBE_MARK) + " + json.dumps(out))\n")


def parse_probe(output: str) -> dict:
    """The probe's JSON line from the child's output; {"error": ...} when there is none
    (the child crashed or printed nothing)."""
    import json

    for line in output.splitlines():
        if line.startswith(PROBE_MARK):
            try:
                return json.loads(line[len(PROBE_MARK):])
            except ValueError:
                break
    tail = output.strip().splitlines()[-1:] or [tr("no output")]
    return {"error": tr("the check ended without a result: {tail}").format(tail=tail[0])}


def check_installed(plan: InstallPlan, probe: Optional[dict],
                    pins: dict[str, str], installed: Sequence[tuple[str, str]]) -> list[str]:
    """What differs from the promise: the torch build the probe imported (`probe`, None
    when torch was not in the plan) and the version of every pinned package pip put into
    the folder (`installed`: (name, version) pairs).  [] when all is as promised."""
    problems = []
    if plan.torch_build is not None and probe is not None:
        version, cuda = str(probe.get("version", "")), probe.get("cuda")
        promised = (plan.torch_pin or "").partition("==")[2]
        if "error" in probe:
            problems.append(tr("torch does not import: {error}").format(error=probe["error"]))
        elif plan.torch_build == "cpu" and (version != promised or cuda is not None):
            problems.append(tr("torch {got}{cuda} was installed, not the CPU build {want} "
                               "that was promised.").format(
                got=version, want=promised,
                cuda=tr(" (CUDA {v})").format(v=cuda) if cuda else ""))
        elif plan.torch_build == "cuda" and cuda is None:
            problems.append(tr("torch {got} was installed without CUDA; the CUDA build was "
                               "promised.").format(got=version))
        elif version.partition("+")[0] != promised.partition("+")[0]:
            problems.append(tr("torch {got} was installed, not {want}.").format(
                got=version, want=promised))
    for name, version in installed:
        want = pins.get(re.sub(r"[-_.]+", "-", name).lower())
        if want is not None and name.lower() != "torch" and version != want:
            problems.append(tr("{name} {got} was installed, not the tested {want}.").format(
                name=name, got=version, want=want))
    return problems


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
