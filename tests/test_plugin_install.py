"""The dependency installer (issues 11 and 19): the CPU build of torch unless an NVIDIA
GPU is found, said with its size before anything starts, fetched in a pip call of its own
from PyTorch's CPU index only and stopped with a message when it cannot be had; versions
from requirements.txt's tested pins; pip with QGIS's own Python (never a pyenv shim); a
check that what was installed is what was promised; and a report that stays until closed.

The end-to-end tests run the panel's real pip through QProcess against two PEP 503
indexes on 127.0.0.1: one stands in for PyTorch's CPU index, the other for PyPI (the
user's configured index, through PIP_INDEX_URL with pip.conf switched off).  Their torch
wheels are tiny pure-Python stand-ins whose ``torch.version.cuda`` says which build they
play: None for the CPU build, "12.8" for PyPI's CUDA build.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import re
import socket
import stat
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from tests.test_plugin_fixtures import import_plugin, local_wheel, spin_until

import_plugin()
from geodecoder.services.installer import dependencies as deps  # noqa: E402
from geodecoder.services.installer import plan as install_plan  # noqa: E402
from geodecoder.ui.install_panel import InstallPanel  # noqa: E402

TORCH = deps.Requirement("geodecoder_ghost_torch", "torch==2.13.0", "runs the network")


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _panel(tmp_path, smi: Path, platform="linux", requirements=(TORCH,)) -> InstallPanel:
    return InstallPanel(requirements=requirements, target=tmp_path / "deps" / "py",
                        gpu_detector=lambda: install_plan.detect_nvidia_gpus(str(smi)),
                        platform=platform)


def test_without_an_nvidia_gpu_the_cpu_build_is_planned_and_said(tmp_path):
    panel = _panel(tmp_path, tmp_path / "no-nvidia-smi-here")
    text = panel.message.text()
    assert "No NVIDIA GPU found" in text and "CPU build" in text, text
    assert "about 200 MB download" in text and "760 MB on disk" in text, text
    assert panel.install_button.text() == "Install (about 200 MB)"
    steps = panel.install_steps()
    assert [s.kind for s in steps] == ["torch", "packages", "check"]
    download, install = steps[0].arguments, steps[1].arguments
    # torch alone, from PyTorch's CPU index only, as the CPU build's own version
    assert download[:3] == ["-m", "pip", "download"] and "--no-deps" in download
    assert download[download.index("--index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert download[-1] == "torch==2.13.0+cpu"
    # the rest from the user's own indexes (a mirror), torch from the downloaded wheel
    assert "--index-url" not in install
    assert install[install.index("--find-links") + 1] == str(panel.wheelhouse)
    assert install[-1] == "torch==2.13.0+cpu"
    constraints = Path(install[install.index("--constraint") + 1])
    assert "torch==2.13.0+cpu" in constraints.read_text().splitlines()
    assert not any("--extra-index-url" in s.arguments for s in steps)


def test_with_an_nvidia_gpu_the_cuda_build_is_planned_with_its_size(tmp_path):
    smi = _script(tmp_path / "nvidia-smi",
                  'echo "NVIDIA GeForce RTX 3060, 12288"')
    panel = _panel(tmp_path, smi)
    text = panel.message.text()
    assert "NVIDIA GeForce RTX 3060 (12 GB)" in text and "CUDA build" in text, text
    assert "about 3.0 GB download" in text and "5.8 GB on disk" in text, text
    assert panel.install_button.text() == "Install (about 3.0 GB)"
    steps = panel.install_steps()
    assert [s.kind for s in steps] == ["packages", "check"]  # PyPI's torch, pinned
    assert steps[0].arguments[-1] == "torch==2.13.0"
    assert not any("--extra-index-url" in s.arguments or "--index-url" in s.arguments
                   for s in steps)


def test_nvidia_smi_that_fails_or_hangs_means_no_gpu(tmp_path, monkeypatch):
    failing = _script(tmp_path / "failing-smi", 'echo "NVIDIA-SMI has failed"; exit 9')
    assert install_plan.detect_nvidia_gpus(str(failing)) == []
    monkeypatch.setattr(install_plan, "SMI_TIMEOUT_MS", 300)
    hanging = _script(tmp_path / "hanging-smi", "sleep 5")
    assert install_plan.detect_nvidia_gpus(str(hanging)) == []


def test_nvidia_smi_lines_are_parsed():
    text = ("NVIDIA H200, 143771\nTesla T4, 15360 MiB\n\n"
            "garbage line\nNVIDIA A100-SXM4-80GB, [N/A]\n")
    assert install_plan.parse_nvidia_smi(text) == [
        install_plan.Gpu("NVIDIA H200", 143771), install_plan.Gpu("Tesla T4", 15360)]


@pytest.mark.parametrize("platform, expected", [("darwin", "macOS build"),
                                                ("win32", "CPU build")])
def test_other_systems_get_pypis_build(tmp_path, platform, expected):
    panel = _panel(tmp_path, tmp_path / "none", platform=platform)
    assert expected in panel.message.text()
    assert "2.13.0" in panel.message.text()
    args = panel.install_command()[1]
    assert "--extra-index-url" not in args and "--index-url" not in args
    assert args[-1] == "torch==2.13.0"


def test_pip_runs_with_this_python_never_a_shim_on_path(tmp_path):
    assert deps.python_executable() == sys.executable  # the venv's python here
    # a pyenv shim (a script) reported as sys.executable, and a Python elsewhere: refused
    shims = tmp_path / "pyenv" / "shims"
    shims.mkdir(parents=True)
    shim = _script(shims / "python3", 'exec "$(pyenv which python3)" "$@"')
    other = tmp_path / "other" / "bin"
    other.mkdir(parents=True)
    os.symlink(os.path.realpath(sys.executable), other / "python3")
    prefix = tmp_path / "qgis-python"
    (prefix / "bin").mkdir(parents=True)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    os.symlink(os.path.realpath(sys.executable), prefix / "bin" / version)
    assert deps.find_python(str(shim), [str(prefix)]) == str(prefix / "bin" / version)
    assert deps.find_python(str(other / "python3"), [str(prefix)]) == \
        str(prefix / "bin" / version)
    assert deps.find_python(str(shim), [str(tmp_path / "empty")]) is None
    assert deps.find_python(str(shims / "python3"), [str(shims.parent)]) is None  # a script


def test_the_install_report_says_what_was_installed_and_stays(tmp_path):
    wheel = local_wheel(tmp_path)
    requirement = deps.Requirement("gd_fake_dep", str(wheel), "test package")
    panel = _panel(tmp_path, tmp_path / "none", requirements=(requirement,))
    results = []
    panel.installFinished.connect(results.append)
    target = panel.target
    try:
        panel.install_button.click()
        assert spin_until(lambda: results, seconds=120), panel.log.toPlainText()
        assert results == [True], panel.log.toPlainText()
        assert panel.log.toPlainText().splitlines()[1].startswith(sys.executable + " -m pip")
        report = panel.report.text()
        assert report.startswith("Done. Installed into " + str(target)), report
        assert "gd_fake_dep 0.1" in report and "MB on disk" in report, report
        panel.refresh()  # what the dock does after an install: the report stays
        assert not panel.isHidden() and panel.report.isVisibleTo(panel)
        assert panel.close_button.isVisibleTo(panel)
        panel.close_button.click()
        assert panel.isHidden()  # nothing missing and the report closed
    finally:
        if str(target) in sys.path:
            sys.path.remove(str(target))


def test_installed_torch_build_is_named():
    assert install_plan.torch_build_of("2.13.0+cpu") == "CPU build"
    assert install_plan.torch_build_of("2.5.1+cu121") == "CUDA build"
    assert install_plan.torch_build_of("2.5.1", ["nvidia-cublas-cu12"]) == "CUDA build"
    assert install_plan.torch_build_of("2.5.1") == ""


# ---------------------------------------------------------------------- tested pins
def test_the_installer_installs_requirements_txts_pins_and_nothing_else():
    """One source of truth: every requirement is ``name==`` its pin in requirements.txt
    (the file CI installs from), and every pin there is a requirement (numpy aside: it is
    pinned to QGIS's own numpy)."""
    text = (Path(deps.__file__).parents[2] / "requirements.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)$", text, re.M))
    assert len(pins) >= 14
    for r in deps.REQUIREMENTS:
        assert r.pip_name == f"{r.dist}=={r.version}", r
        assert pins[r.dist] == r.version, r
    assert {deps.normal_name(n) for n in pins} == {r.dist for r in deps.REQUIREMENTS} | {"numpy"}


def test_a_range_or_a_missing_file_is_refused(tmp_path):
    ranged = tmp_path / "requirements.txt"
    ranged.write_text("# tested\ntorch==2.13.0\npillow>=10\n")
    with pytest.raises(deps.PinsError, match=r"line 3: 'pillow>=10' is not a name==version"):
        deps.read_pins(ranged)
    with pytest.raises(deps.PinsError, match="reinstall the plugin"):
        deps.read_pins(tmp_path / "absent.txt")
    with pytest.raises(deps.PinsError, match="no ==pin for geodecoder-nothing"):
        deps.pinned("geodecoder-nothing")


def test_packages_that_need_torch_are_installed_without_resolving_it(tmp_path):
    """``pip install --target`` ignores the torch already installed: a package depending
    on torch, resolved by pip, would bring PyPI's (CUDA) torch.  Every such requirement
    must be in TORCH_ONLY_DEPENDENTS (installed with --no-deps, so torch must be its only
    dependency), read from the metadata of the packages installed here."""
    import importlib.metadata as md

    needs_torch = {}
    for r in deps.REQUIREMENTS:
        if r.dist == "torch":
            continue
        requires = [q for q in (md.requires(r.dist) or []) if "extra ==" not in q]
        names = {deps.normal_name(re.split(r"[\s<>=!~;\[(]", q, maxsplit=1)[0]) for q in requires}
        if "torch" in names:
            needs_torch[r.dist] = names
    assert needs_torch, "efficientnet-lite-pytorch needs torch: the scan must see it"
    assert set(needs_torch) == deps.TORCH_ONLY_DEPENDENTS
    assert all(names == {"torch"} for names in needs_torch.values()), needs_torch
    # torch present, the backbone missing: its own --no-deps call, no torch anywhere
    backbone = next(r for r in deps.REQUIREMENTS if r.dist == "efficientnet-lite-pytorch")
    ghost = deps.Requirement("geodecoder_ghost_backbone", backbone.pip_name, backbone.purpose)
    panel = InstallPanel(requirements=(ghost,), target=tmp_path / "deps" / "py")
    steps = panel.install_steps()
    assert [s.kind for s in steps] == ["torch-only"]
    assert "--no-deps" in steps[0].arguments
    assert steps[0].arguments[-1] == "efficientnet-lite-pytorch==0.1.0"


# ---------------------------------------------------------------------- end to end
def _wheel(folder: Path, dist: str, version: str, files: dict) -> Path:
    """A pure-Python wheel of `dist` `version` holding `files` (path -> text)."""
    info = f"{dist}-{version}.dist-info"
    data = {path: text.encode() for path, text in files.items()}
    data[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n" \
        .encode()
    data[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n" \
        b"Tag: py3-none-any\n"
    record = "".join(
        f"{path},sha256="
        f"{base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()},"
        f"{len(b)}\n" for path, b in data.items()) + f"{info}/RECORD,,\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, b in data.items():
            zf.writestr(path, b)
        zf.writestr(f"{info}/RECORD", record)
    return wheel


def _fake_torch(folder: Path, version: str, cuda) -> Path:
    """A torch stand-in: ``torch.__version__`` and ``torch.version.cuda`` as the real
    builds have them, and the module the test requirement looks for."""
    return _wheel(folder, "torch", version, {
        "torch/__init__.py": f"from . import version\n__version__ = {version!r}\n",
        "torch/version.py": f"cuda = {cuda!r}\n",
        "geodecoder_ghost_torch/__init__.py": ""})


class _Index:
    """A PEP 503 simple index on 127.0.0.1 serving the wheels of `folder`, recording every
    path asked for (``requests``)."""

    def __init__(self, folder: Path):
        self.folder, self.requests = folder, []
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                index.requests.append(self.path)
                parts = [p for p in self.path.split("/") if p]
                body, kind = None, "text/html"
                if len(parts) == 2 and parts[0] == "simple":
                    links = "".join(
                        f'<a href="/files/{w.name.replace("+", "%2B")}">{w.name}</a>\n'
                        for w in sorted(folder.glob("*.whl"))
                        if deps.normal_name(w.name.split("-")[0]) == parts[1])
                    body = f"<html><body>\n{links}</body></html>".encode()
                elif len(parts) == 2 and parts[0] == "files":
                    wheel = folder / parts[1].replace("%2B", "+")
                    if wheel.is_file():
                        body, kind = wheel.read_bytes(), "application/octet-stream"
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wheels_served(self) -> list[str]:
        return [p for p in self.requests if p.startswith("/files/")]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def indexes(tmp_path, monkeypatch):
    """(PyTorch's CPU index, PyPI) stand-ins; PyPI already offers its CUDA torch 2.13.0.
    pip.conf is switched off and PyPI's stand-in is the user's configured index."""
    cpu, pypi = _Index(tmp_path / "cpu-index"), _Index(tmp_path / "pypi")
    _fake_torch(pypi.folder, "2.13.0", "12.8")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", pypi.url)
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setattr(install_plan, "CPU_INDEX", cpu.url)
    yield cpu, pypi
    cpu.close()
    pypi.close()


def _install(tmp_path, seconds=180) -> InstallPanel:
    """The CPU plan (no nvidia-smi) for a torch pinned to 2.13.0 and a small package, run
    by clicking Install, until the panel reports."""
    other = deps.Requirement("gd_fake_dep", str(local_wheel(tmp_path)), "test package")
    panel = _panel(tmp_path, tmp_path / "no-nvidia-smi", requirements=(TORCH, other))
    assert panel.plan.torch_build == "cpu" and panel.plan.torch_index == install_plan.CPU_INDEX
    results = []
    panel.installFinished.connect(results.append)
    panel.install_button.click()
    assert spin_until(lambda: results, seconds=seconds), panel.log.toPlainText()
    panel.results = results
    return panel


def _forget(target: Path):
    if str(target) in sys.path:
        sys.path.remove(str(target))
    for name in [n for n in sys.modules if n.split(".")[0] in ("geodecoder_ghost_torch",
                                                                "gd_fake_dep")]:
        del sys.modules[name]


def test_the_cpu_build_comes_from_the_cpu_index_alone_and_is_checked(tmp_path, indexes):
    cpu, pypi = indexes
    _fake_torch(cpu.folder, "2.13.0+cpu", None)
    try:
        panel = _install(tmp_path)
        log = panel.log.toPlainText()
        assert panel.results == [True], log
        report = panel.report.text()
        assert report.startswith("Done. Installed into"), report
        assert "torch 2.13.0+cpu (CPU build)" in report and "gd_fake_dep 0.1" in report, report
        assert cpu.wheels_served() == ["/files/torch-2.13.0%2Bcpu-py3-none-any.whl"]
        assert pypi.wheels_served() == []  # PyPI's CUDA torch was never fetched
        assert (panel.target / "torch" / "version.py").read_text() == "cuda = None\n"
        assert not panel.wheelhouse.exists()  # the 200 MB wheel is not left behind
        commands = [line for line in log.splitlines() if line.startswith(sys.executable)]
        assert [c.split()[1:4] for c in commands] == [
            ["-m", "pip", "download"], ["-m", "pip", "install"], ["-c", "<check:", "import"]], log
        assert "Check: torch 2.13.0+cpu imports, CUDA: none." in log, log
    finally:
        _forget(tmp_path / "deps" / "py")


def test_an_unreachable_cpu_index_stops_before_anything_is_fetched(tmp_path, indexes):
    _cpu, pypi = indexes
    install_plan.CPU_INDEX = f"http://127.0.0.1:{_closed_port()}/simple"  # monkeypatched
    try:
        panel = _install(tmp_path)
        assert panel.results == [False]
        report = panel.report.text()
        assert report.startswith("Not installed. " + install_plan.CPU_INDEX +
                                 " could not be reached"), report
        assert "Nothing was installed, and PyPI's CUDA build (about 6 GB) was not fetched" \
            in report, report
        assert f"--index-url {install_plan.CPU_INDEX} torch==2.13.0+cpu" in report, report
        assert pypi.requests == []  # not even asked
        assert not (panel.target / "torch").exists() and not panel.target.exists()
        assert sum(line.startswith(sys.executable) for line in
                   panel.log.toPlainText().splitlines()) == 1  # only torch's own call ran
        assert not panel.install_button.isHidden() and panel.install_button.isEnabled()
    finally:
        _forget(tmp_path / "deps" / "py")


def test_no_cpu_wheel_for_this_python_stops_and_says_so(tmp_path, indexes):
    cpu, pypi = indexes
    _fake_torch(cpu.folder, "2.12.0+cpu", None)  # the index answers, without our version
    try:
        panel = _install(tmp_path)
        report = panel.report.text()
        assert panel.results == [False]
        py = f"{sys.version_info[0]}.{sys.version_info[1]}"
        assert f"has no torch==2.13.0+cpu wheel for Python {py}" in report, report
        assert cpu.wheels_served() == [] and pypi.requests == []
        assert not panel.target.exists()
    finally:
        _forget(tmp_path / "deps" / "py")


def test_a_build_that_is_not_the_promised_one_is_reported(tmp_path, indexes):
    """The check step imports what was installed: a wheel tagged +cpu that is a CUDA
    build (the report of issue 19 in small) is named as not what was promised."""
    cpu, _pypi = indexes
    _fake_torch(cpu.folder, "2.13.0+cpu", "12.8")
    try:
        panel = _install(tmp_path)
        report = panel.report.text()
        assert panel.results == [True]  # importable: the engine can run
        assert report.startswith(
            "Installed, but not what was promised: torch 2.13.0+cpu (CUDA 12.8) was "
            "installed, not the CPU build 2.13.0+cpu that was promised."), report
        assert "Delete " + str(panel.target) in report
    finally:
        _forget(tmp_path / "deps" / "py")


def test_check_installed_compares_builds_and_pins():
    cpu = install_plan.plan_install(["torch"], [], "linux", "2.13.0")
    pins = {"pillow": "13.0.0"}
    ok = {"version": "2.13.0+cpu", "cuda": None}
    assert install_plan.check_installed(cpu, ok, pins, [("Pillow", "13.0.0")]) == []
    assert install_plan.check_installed(cpu, {"version": "2.13.0", "cuda": "12.8"}, pins,
                                        []) == [
        "torch 2.13.0 (CUDA 12.8) was installed, not the CPU build 2.13.0+cpu that was "
        "promised."]
    assert install_plan.check_installed(cpu, ok, pins, [("Pillow", "12.1.0")]) == [
        "Pillow 12.1.0 was installed, not the tested 13.0.0."]
    broken = install_plan.check_installed(cpu, install_plan.parse_probe("Segmentation fault"),
                                          pins, [])
    assert broken == ["torch does not import: the check ended without a result: "
                      "Segmentation fault"]
    cuda = install_plan.plan_install(["torch"], [install_plan.Gpu("T4", 15360)], "linux",
                                     "2.13.0")
    assert install_plan.check_installed(cuda, {"version": "2.13.0", "cuda": "12.8"}, {},
                                        []) == []
    assert "without CUDA" in install_plan.check_installed(cuda, ok, {}, [])[0]
