"""The table of docs/reliability.md is written only by a run that ran every marked test, and says each outcome."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.reliability import END, START, Collector


class _Marker:
    def __init__(self, *args: str) -> None:
        self.args = args


def _item(nodeid: str, kind: str = "attack") -> Any:
    marker = _Marker(kind, "something tried", "what happened")
    return SimpleNamespace(nodeid=nodeid, get_closest_marker=lambda name: marker if name == "reliability" else None)


def _report(nodeid: str, outcome: str, when: str = "call", figures: tuple[str, ...] = ()) -> Any:
    longrepr = ("file", 1, "Skipped: no server") if outcome == "skipped" else None
    return SimpleNamespace(nodeid=nodeid, when=when, outcome=outcome, longrepr=longrepr,
                           user_properties=[("figure", figure) for figure in figures])  # fmt: skip


def _doc(tmp_path: Path) -> Path:
    doc = tmp_path / "reliability.md"
    doc.write_text(f"# Promises\n\nkept text\n\n{START}\nold table\n{END}\n\nafter\n", encoding="utf-8")
    return doc


def test_a_full_run_writes_one_row_per_test_with_its_cases_and_figures(tmp_path: Path) -> None:
    collector = Collector()
    unmarked = SimpleNamespace(nodeid="t.py::test_other", get_closest_marker=lambda name: None)
    collector.collected([_item("t.py::test_a[1]"), _item("t.py::test_a[2]"), _item("t.py::test_b", "crash"),
                         _item("t.py::test_c", "bad input"), unmarked])  # fmt: skip
    for report in (
        _report("t.py::test_a[1]", "passed", "setup"),
        _report("t.py::test_a[1]", "passed"),
        _report("t.py::test_a[2]", "passed"),
        _report("t.py::test_b", "passed", figures=("20 kills",)),
        _report("t.py::test_c", "skipped", "setup"),
        _report("t.py::test_other", "failed"),
    ):
        collector.reported(report)
    doc = _doc(tmp_path)
    assert collector.write(doc, dt.date(2026, 12, 7))
    assert doc.read_text(encoding="utf-8") == (
        f"# Promises\n\nkept text\n\n{START}\n\n"
        "| kind | what was tried | what happens | test | last full run |\n|---|---|---|---|---|\n"
        "| attack | something tried | what happened | `t.py::test_a` | passed (2 cases) |\n"
        "| bad input | something tried | what happened | `t.py::test_c` | skipped (no server) |\n"
        "| crash | something tried | what happened | `t.py::test_b` | passed; 20 kills |\n"
        "\n2 of 3 passed (1 attack, 1 bad input, 1 crash, 0 concurrency) in the full run of 7 December 2026.\n\n"
        f"{END}\n\nafter\n"
    )


def test_a_failing_case_fails_its_row_and_a_partial_run_leaves_the_page_alone(tmp_path: Path) -> None:
    collector = Collector()
    collector.collected([_item("t.py::test_a[1]"), _item("t.py::test_a[2]"), _item("t.py::test_b")])
    collector.reported(_report("t.py::test_a[1]", "passed"))
    collector.reported(_report("t.py::test_a[2]", "failed"))
    doc = _doc(tmp_path)
    before = doc.read_text(encoding="utf-8")
    assert not collector.write(doc)  # test_b never ran
    assert doc.read_text(encoding="utf-8") == before
    collector.reported(_report("t.py::test_b", "passed"))
    collector.reported(_report("t.py::test_b", "failed", "teardown"))
    assert collector.write(doc, dt.date(2026, 1, 2))
    text = doc.read_text(encoding="utf-8")
    assert "| `t.py::test_a` | failed (2 cases) |" in text and "| `t.py::test_b` | failed |" in text
    assert "0 of 2 passed" in text
