"""The package as a user gets it: the sdist and wheel build, install into a clean virtual environment with pip and
with pipx, and the installed command (not this checkout) runs the main job end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# Files the package reads at run time, by importlib.resources or by path: each must be in the wheel.
PACKAGE_DATA = (
    "clearsight/cases/migrations/env.py",
    "clearsight/cases/migrations/script.py.mako",
    "clearsight/cases/migrations/versions/0001_workbench.py",
    "clearsight/flags/profiles/default.toml",
    "clearsight/flags/profiles/cardinal.toml",
    "clearsight/flags/indicators/r018.sql",
    "clearsight/ingest/merge_rules.json",
    "clearsight/linkage/nicknames.csv",
    "clearsight/screens/model/cartel_model.pkl",
    "clearsight/screens/model/cartel_model.json",
    "clearsight/web/templates/base.html",
    "clearsight/web/static/style.css",
    "clearsight/py.typed",
    "clearsight/flags/docs/R024.md",
    "clearsight/cases/common_passwords.txt",
    "clearsight/cases/migrations/versions/0002_concerns_published.py",
    "clearsight/cases/migrations/versions/0003_account_lifecycle.py",
)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _clean_env() -> dict[str, str]:
    """This process's environment without the test virtual environment (a user's shell has none of it)."""
    env = {key: value for key, value in os.environ.items() if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    bin_folder = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep) if part != bin_folder)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build`: the sdist, then the wheel built from the sdist (so both are checked)."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], cwd=out)
    return out


def _wheel(dist: Path) -> Path:
    wheels = sorted(dist.glob("clearsight-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_holds_the_package_data_licence_and_metadata(dist: Path) -> None:
    with zipfile.ZipFile(_wheel(dist)) as wheel:
        names = set(wheel.namelist())
        metadata_name = next(name for name in names if name.endswith(".dist-info/METADATA"))
        metadata = wheel.read(metadata_name).decode()
    missing = [name for name in PACKAGE_DATA if name not in names]
    assert missing == []
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert any(name.endswith(".dist-info/licenses/NOTICE") for name in names)
    assert "License-Expression: Apache-2.0" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    assert "Requires-Python: >=3.11" in metadata
    # Heavy engines are extras: a plain install pulls in neither Spark nor the PostgreSQL driver.
    requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    plain = [line for line in requirements if "extra ==" not in line]
    assert not [line for line in plain if "pyspark" in line or "psycopg" in line or "pytest" in line]
    assert "Provides-Extra: spark" in metadata and "Provides-Extra: postgres" in metadata
    sdists = list(dist.glob("clearsight-*.tar.gz"))
    assert len(sdists) == 1


def test_pip_installs_the_wheel_in_a_clean_venv_and_it_runs_the_main_job(dist: Path, tmp_path: Path) -> None:
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    env = _clean_env()
    _run([str(python), "-m", "pip", "install", "--quiet", str(_wheel(dist))], cwd=tmp_path, env=env)
    work = tmp_path / "work"
    work.mkdir()
    # The command imported is the installed one, not this checkout's source.
    where = _run([str(python), "-c", "import clearsight; print(clearsight.__file__)"], cwd=work, env=env).strip()
    assert where.startswith(str(environment)), where
    command = str(environment / "bin" / "clearsight")
    assert _run([command, "--version"], cwd=work, env=env).strip() == "clearsight 0.1.0"

    synth = json.loads(_run([command, "synth", "procurement", "-n", "150", "--seed", "5", "--out", "s.jsonl.gz",
                             "--json"], cwd=work, env=env))  # fmt: skip
    assert synth["processes"] == 150
    ingest = json.loads(_run([command, "--db", "w.duckdb", "ingest", "ocds", "s.jsonl.gz", "-d", "s", "--json"],
                             cwd=work, env=env))  # fmt: skip
    assert (ingest["releases_read"], ingest["processes_written"], ingest["rejected"]) == (150, 150, 0)
    flags = json.loads(_run([command, "--db", "w.duckdb", "flags", "run", "-d", "s", "--json"], cwd=work, env=env))
    assert flags["counts"]["R018"]["flagged"] > 0
    _run([command, "--db", "w.duckdb", "report", "-d", "s", "--out", "report.html"], cwd=work, env=env)
    # The indicator's whole page ships with the package (not only its one-line summary).
    explained = json.loads(_run([command, "flags", "explain", "R024", "--json"], cwd=work, env=env))
    assert "## Methodology" in explained["documentation"]
    html = (work / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Single bid received" in html


def test_pipx_installs_the_wheel(dist: Path, tmp_path: Path) -> None:
    env = _clean_env()
    env.update(PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"),
               PIPX_MAN_DIR=str(tmp_path / "man"))  # fmt: skip
    _run([sys.executable, "-m", "pipx", "install", str(_wheel(dist))], cwd=tmp_path, env=env)
    assert _run([str(tmp_path / "bin" / "clearsight"), "--version"], cwd=tmp_path, env=env).strip() == (
        "clearsight 0.1.0"
    )
