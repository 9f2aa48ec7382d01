"""The dependency installer (issue 11): the CPU build of torch unless an NVIDIA GPU is
found, said with its size before anything starts; pip with QGIS's own Python (never a
pyenv shim); and a report of what was installed that stays until closed."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

import pytest

from tests.test_plugin_fixtures import import_plugin, local_wheel, spin_until

import_plugin()
from geodecoder.services import dependencies as deps  # noqa: E402
from geodecoder.services import install_plan  # noqa: E402
from geodecoder.ui.install_panel import InstallPanel  # noqa: E402

TORCH = deps.Requirement("geodecoder_ghost_torch", "torch>=2.1", "runs the network")


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
    _program, args = panel.install_command()
    assert args[args.index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert "--index-url" not in args  # the user's own index (a mirror) still serves the rest
    assert args[-1] == "torch>=2.1"


def test_with_an_nvidia_gpu_the_cuda_build_is_planned_with_its_size(tmp_path):
    smi = _script(tmp_path / "nvidia-smi",
                  'echo "NVIDIA GeForce RTX 3060, 12288"')
    panel = _panel(tmp_path, smi)
    text = panel.message.text()
    assert "NVIDIA GeForce RTX 3060 (12 GB)" in text and "CUDA build" in text, text
    assert "about 3.0 GB download" in text and "5.8 GB on disk" in text, text
    assert panel.install_button.text() == "Install (about 3.0 GB)"
    assert "--extra-index-url" not in panel.install_command()[1]


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
    assert "--extra-index-url" not in panel.install_command()[1]


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
    text = (Path(deps.__file__).parents[1] / "requirements.txt").read_text()
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
