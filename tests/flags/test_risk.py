"""Composite risk: the CRI counts only indicators that could judge; weights change the weighted score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clearsight.engine import DuckDBBackend
from clearsight.flags.profile import Profile, load_profile
from clearsight.flags.runner import run_flags
from clearsight.ingest.pipeline import ingest_ocds

RELEASES = [
    # R018 flags (one tenderer), R003 clear (20 days): CRI 1/2 among the process indicators that could judge.
    {
        "ocid": "risky",
        "buyer": {"id": "B"},
        "tender": {
            "procurementMethod": "open",
            "numberOfTenderers": 1,
            "tenderPeriod": {"startDate": "2024-01-01T00:00:00Z", "endDate": "2024-01-21T00:00:00Z"},
        },
    },
    {
        "ocid": "fine",
        "buyer": {"id": "B"},
        "tender": {
            "procurementMethod": "open",
            "numberOfTenderers": 3,
            "tenderPeriod": {"startDate": "2024-01-01T00:00:00Z", "endDate": "2024-01-21T00:00:00Z"},
        },
    },
    # A direct award: neither R003 nor R018 applies, nothing else has data: no score, not "no risk".
    {"ocid": "unknown", "buyer": {"id": "C"}, "tender": {"procurementMethod": "direct"}},
]


@pytest.fixture
def scores(tmp_path: Path) -> dict[str, dict]:
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(release) + "\n" for release in RELEASES))
    with DuckDBBackend(":memory:") as backend:
        ingest_ocds(backend, [str(path)], "d", compiled=True, workers=1)
        profile = load_profile("default").model_dump()
        profile["weights"] = {"R018": 3.0}
        summary = run_flags(backend, "d", Profile(**profile), only=["R003", "R018"])
        rows = backend.query_dicts("SELECT * FROM risk_scores WHERE run_id = ?", [summary.run_id])
    return {f"{row['subject_type']}:{row['subject_id']}": row for row in rows}


def test_cri_counts_only_judged_indicators(scores: dict[str, dict]) -> None:
    assert scores["process:risky"]["cri"] == 0.5 and scores["process:risky"]["components"] == 2
    assert scores["process:risky"]["flagged_indicators"] == ["R018"]
    assert scores["process:fine"]["cri"] == 0.0 and scores["process:fine"]["status"] == "scored"
    assert scores["process:unknown"]["status"] == "insufficient_data" and scores["process:unknown"]["cri"] is None


def test_weights_and_pooling(scores: dict[str, dict]) -> None:
    assert scores["process:risky"]["weighted_score"] == pytest.approx(3 / 4)
    assert scores["buyer:B"]["cri"] == pytest.approx(1 / 4) and scores["buyer:B"]["components"] == 4
    assert scores["buyer:C"]["status"] == "insufficient_data"
    assert scores["process:risky"]["rank"] == 1 and scores["process:fine"]["rank"] == 2
