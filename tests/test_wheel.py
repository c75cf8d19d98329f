"""A non-editable install works: the wheel carries the services and the Avro schemas, and a
flow runs from a fresh virtual environment that has only the wheel installed (its
dependencies come from the development environment, through a .pth file, so that nothing is
downloaded)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from ostinato.execution.states import StateType

ROOT = Path(__file__).resolve().parents[1]
#: what the build needs from the checkout (symlinks kept: ostinato/services, ostinato/_schemas)
SOURCES = ("pyproject.toml", "ostinato", "services", "schemas")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a clean copy of the sources (a build/ folder left in the
    checkout could add stale files)."""
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "--wheel-dir", str(dist), str(source)])
    (built,) = dist.glob("ostinato-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel installed, the development environment's
    site-packages on its path for the dependencies (but not its editable ostinato: that is
    installed by a meta-path finder, which a .pth path line does not load)."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(_run([str(python), "-c",
                         "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    (purelib / "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
          "--no-deps", str(wheel)])
    return venv


def test_the_wheel_carries_every_file_of_the_package(wheel: Path) -> None:
    """Every module and data file under ostinato/ (the services and the schemas through
    their symlinks), but not the example plugin."""
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"ostinato/{path}" for path in _package_files(ROOT / "ostinato")}
    assert "ostinato/_schemas/Execution.avsc" in expected
    assert "ostinato/services/executor/main.py" in expected
    assert sorted(expected - names) == []
    assert any(name.startswith("ostinato/_schemas/history/") for name in names)
    assert not [name for name in names if "plugin_hello" in name]


def test_a_flow_runs_from_the_installed_wheel(fresh_venv: Path, tmp_path: Path) -> None:
    env = _clean_env()
    imported = _run([str(fresh_venv / "bin" / "python"), "-c",
                     "import ostinato, ostinato.services.executor.main;"
                     "from ostinato.wire.schemas import default_schemas_dir;"
                     "print(ostinato.__file__); print(default_schemas_dir())"],
                    cwd=tmp_path, env=env).split()
    assert all(Path(path).is_relative_to(fresh_venv) for path in imported), imported
    run = subprocess.run([str(fresh_venv / "bin" / "ostinato"), "run",
                          str(ROOT / "examples" / "hello.yaml"), "--json"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    final = json.loads(run.stdout)
    assert final["state"]["current"] == StateType.SUCCESS
    assert final["outputs"] == {"greeting": "Hello, world!"}


def _package_files(package: Path) -> set[str]:
    """The files of `package` (symlinks followed) that an install needs, relative to it:
    not the READMEs nor maintainers' scripts (the UI's vendor/update.sh)."""
    files: set[str] = set()
    for folder, _dirs, names in os.walk(package, followlinks=True):
        for name in names:
            path = Path(folder, name)
            if "__pycache__" not in path.parts and name != "README.md" and path.suffix != ".sh":
                files.add(path.relative_to(package).as_posix())
    return files


def _clean_env() -> dict[str, str]:
    """The environment without anything that would point at the checkout."""
    drop = {"OSTINATO_SCHEMAS_DIR", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    return {key: value for key, value in os.environ.items() if key not in drop}


def _run(command: list[str], *, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done.stdout
