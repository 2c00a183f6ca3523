"""The table of docs/reliability.md, written by the tests themselves.

A test that proves a promise of docs/reliability.md carries `@pytest.mark.reliability(kind, tried, handled)`:
kind is one of KINDS; `tried` says what was done to the program, `handled` what it did. A test
may add a measured figure (`record_figure(request, "...")`). When a run of the whole suite (`make test`: no paths
but tests/, no -k, -m, --deselect or --lf; tests/conftest.py decides) has run every marked test, the table
between the markers in docs/reliability.md is rewritten with each test's outcome, so the page says what the last
full run proved — a promise whose test fails is shown failing, not silently kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
START = "<!-- table: written by the tests (tests/reliability.py) when a run has run them all; do not edit -->"
END = "<!-- end of table -->"
KINDS = ("attack", "bad input", "crash", "concurrency")


@dataclass
class Row:
    kind: str
    tried: str
    handled: str
    test: str
    outcomes: dict[str, str] = field(default_factory=dict)  # each case (parameter set) of the test: its outcome
    figures: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """One line for all the test's cases: "passed", "failed", "skipped (why)", or "not run"."""
        if not self.outcomes or "not run" in self.outcomes.values():
            return "not run"
        values = list(self.outcomes.values())
        cases = f" ({len(values)} cases)" if len(values) > 1 else ""
        for worst in ("failed", "skipped"):
            if any(value.startswith(worst) for value in values):
                return next(value for value in values if value.startswith(worst)) + cases
        return "passed" + cases


class Collector:
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self._tests: dict[str, str] = {}  # node id of each collected case → its test's row

    def collected(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("reliability")
            if marker is None:
                continue
            kind, tried, handled = marker.args
            assert kind in KINDS, f"{item.nodeid}: reliability kind {kind!r} is not one of {KINDS}"
            test = item.nodeid.split("[", 1)[0]  # the cases of a parametrised test are one row
            row = self.rows.setdefault(test, Row(kind, tried, handled, f"`{test}`"))
            row.outcomes[item.nodeid] = "not run"
            self._tests[item.nodeid] = test

    def reported(self, report: pytest.TestReport) -> None:
        test = self._tests.get(report.nodeid)
        if test is None:
            return
        row = self.rows[test]
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            if report.outcome == "skipped":
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
                row.outcomes[report.nodeid] = f"skipped ({reason.removeprefix('Skipped: ')})"
            else:
                row.outcomes[report.nodeid] = report.outcome
            row.figures += [str(value) for key, value in report.user_properties if key == "figure"]
        elif report.when == "teardown" and report.outcome == "failed":
            row.outcomes[report.nodeid] = "failed"

    def write(self, doc: Path = DOC, day: dt.date | None = None) -> bool:
        """Rewrite the table in `doc` when every marked test ran; whether it did."""
        if not self.rows or any(row.outcome == "not run" for row in self.rows.values()) or not doc.exists():
            return False  # a partial run proves only part: the page keeps what the last full run proved
        text = doc.read_text(encoding="utf-8")
        if START not in text or END not in text:
            return False
        lines = [START, "", "| kind | what was tried | what happens | test | last full run |", "|---|---|---|---|---|"]
        order = {kind: index for index, kind in enumerate(KINDS)}
        for row in sorted(self.rows.values(), key=lambda row: (order[row.kind], row.test)):
            result = row.outcome + ("; " + "; ".join(row.figures) if row.figures else "")
            cells = [row.kind, row.tried, row.handled, row.test, result]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        counts = {kind: sum(row.kind == kind for row in self.rows.values()) for kind in KINDS}
        passed = sum(row.outcome.startswith("passed") for row in self.rows.values())
        kinds = ", ".join(f"{n} {k}" for k, n in counts.items())
        when = f"{(day or dt.date.today()):%-d %B %Y}"
        lines += ["", f"{passed} of {len(self.rows)} passed ({kinds}) in the full run of {when}.", "", END]
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        doc.write_text(before + "\n".join(lines) + after, encoding="utf-8")
        return True


def record_figure(request: pytest.FixtureRequest, figure: str) -> None:
    """A measured figure shown beside the test's outcome in the table."""
    request.node.user_properties.append(("figure", figure))
