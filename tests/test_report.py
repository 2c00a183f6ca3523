"""The HTML report, opened in a real headless Chromium; exports of results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from clearsight.cli import app
from tests.conftest import CHROMIUM_ARGS, REPO

runner = CliRunner()
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def flagged_warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("report")
    data = folder / "synthetic.jsonl"
    db = str(folder / "w.duckdb")
    for command in (
        ["synth", "procurement", "-n", "1500", "--seed", "11", "--out", str(data)],
        ["--db", db, "ingest", "ocds", str(data), "-d", "syn"],
        ["--db", db, "network", "build", "-d", "syn"],
        ["--db", db, "flags", "run", "-d", "syn"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    return db


def test_report_renders_in_chromium_without_errors(flagged_warehouse: str, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no Chromium on this machine (CI installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["--db", flagged_warehouse, "report", "-d", "syn", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 1400})
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(out.as_uri())
        assert page.locator("svg.chart").count() >= 4  # indicators, risk, buyers, suppliers (+ trend)
        assert page.locator("section.process").count() > 10
        assert page.locator("section.group svg.network").count() == 3  # the three most suspicious groups
        assert page.locator("section.group svg.network circle").count() >= 6
        from clearsight.flags.registry import indicators

        first = page.locator("section.process li").first.inner_text()
        assert first[:4] in {item.code for item in indicators()}
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
        browser.close()
    assert problems == []


def test_exports(flagged_warehouse: str, tmp_path: Path) -> None:
    for suffix in ("csv", "parquet", "json"):
        out = tmp_path / f"flags.{suffix}"
        result = runner.invoke(app, ["--db", flagged_warehouse, "flags", "export", str(out), "-d", "syn", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["rows"] > 1000
    assert (
        pq.read_table(tmp_path / "flags.parquet").num_rows
        == json.loads((tmp_path / "flags.json").read_text()).__len__()
    )
    risk = tmp_path / "risk.csv"
    assert (
        runner.invoke(app, ["--db", flagged_warehouse, "flags", "export", str(risk), "-d", "syn", "--risk"]).exit_code
        == 0
    )
    assert risk.read_text().startswith("run_id,dataset,subject_type")
    bad = runner.invoke(app, ["--db", flagged_warehouse, "flags", "export", str(tmp_path / "x.xlsx"), "-d", "syn"])
    assert bad.exit_code == 2


def test_report_needs_a_flag_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", str(tmp_path / "empty.duckdb"), "summary"])
    assert result.exit_code == 0
    result = runner.invoke(app, ["--db", str(tmp_path / "empty.duckdb"), "report", "-d", "none"])
    assert result.exit_code == 2 and "flags run" in result.output
