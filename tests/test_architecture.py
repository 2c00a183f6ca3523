"""The project's structure holds: layering, generated docs in sync, README commands and CI agree."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from clearsight.model.docs import render
from tests.conftest import REPO


def test_layers_are_respected() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    done = subprocess.run(
        [lint_imports, "--config", str(REPO / "pyproject.toml")], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" not in done.stdout.lower().replace("0 broken", "")


def test_data_model_doc_is_generated_from_the_schema() -> None:
    assert (REPO / "docs" / "data-model.md").read_text() == render(), "run `make docs`"


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (REPO / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make [a-z-]+)$", quick_start, flags=re.MULTILINE)
    assert commands == ["make demo", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.MULTILINE) and re.search(r"^test:", makefile, re.MULTILINE)


def test_library_code_never_prints() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "src" / "clearsight").rglob("*.py")
        if path.name not in ("cli.py", "docs.py", "__main__.py") and re.search(r"^\s*print\(", path.read_text(), re.M)
    ]
    assert offenders == []


def test_every_issue_code_and_reject_reason_is_documented() -> None:
    doc = (REPO / "docs" / "ingest.md").read_text()
    source = "\n".join(path.read_text() for path in (REPO / "src" / "clearsight" / "ingest").glob("*.py"))
    codes = set(re.findall(r'log\.add\([^)]*?"([a-z]+_[a-z_]+)"', source, flags=re.S))
    codes |= set(re.findall(r'n\.IssueLog\(\)|\.add\(\s*[^,]+,\s*"([a-z_]+)"', source)) - {""}
    assert len(codes) >= 15
    assert sorted(code for code in codes if f"`{code}`" not in doc) == []
    reasons = set(re.findall(r'Reject\([^)]*?"([a-z][^"{]+)"', source, flags=re.S))
    reasons |= set(re.findall(r'reason = \(?\s*"([a-z][^"{]+)"', source))
    reasons = {reason.split(" (")[0].split(":")[0].strip() for reason in reasons if len(reason) > 8}
    assert len(reasons) >= 10
    assert sorted(reason for reason in reasons if reason not in doc) == []


def test_types_check() -> None:
    mypy = shutil.which("mypy") or str(Path(sys.executable).parent / "mypy")
    done = subprocess.run([mypy, "src"], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
