"""Data quality: coverage shares, recorded issues and rejects, red-flag support, per dataset."""

from __future__ import annotations

import json
from pathlib import Path

from clearsight.engine import DuckDBBackend
from clearsight.ingest.pipeline import ingest_ocds
from clearsight.ingest.quality import quality_report
from tests.conftest import shared


def test_coverage_issues_rejects_and_flag_support(backend: DuckDBBackend, tmp_path: Path) -> None:
    lines = [
        {
            "ocid": "o-1",
            "date": "2020-01-01T00:00:00Z",
            "buyer": {"id": "b", "name": "B"},
            "tender": {
                "procurementMethod": "open",
                "tenderPeriod": {"startDate": "2020-01-01", "endDate": "2020-01-20"},
                "value": {"amount": "1,000", "currency": "EUR"},
            },
            "bids": {
                "details": [
                    {
                        "id": "1",
                        "status": "valid",
                        "value": {"amount": 5, "currency": "EUR"},
                        "tenderers": [{"id": "t1"}],
                    }
                ]
            },
        },
        {"ocid": "o-2", "date": "2020-01-01T00:00:00Z", "buyer": {"id": "b"}},
        {"ocid": "o-3", "date": "2020-01-01T00:00:00Z"},
        {"ocid": "o-4", "date": "2020-01-01T00:00:00Z"},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")
    ingest_ocds(backend, [str(path)], "q")
    report = quality_report(backend)["datasets"]["q"]
    assert report["processes"] == 4
    assert report["coverage"]["processes.buyer_id"] == 0.5
    assert report["coverage"]["processes.buyer_name"] == 0.25
    assert report["coverage"]["bids.value_amount"] == 0.25
    assert report["coverage"]["processes.tender_value_amount"] == 0.25
    assert report["issues"] == [{"issue": "amount_string", "path": "/tender/value/amount", "count": 1}]
    assert report["rejects"][0]["count"] == 1 and report["rejects"][0]["reason"].startswith("invalid JSON")
    flags = {flag["code"]: flag for flag in report["flags"]}
    assert flags["R003"]["status"] == "partial" and flags["R003"]["coverage"] == 0.25
    assert flags["R048"]["status"] == "unsupported"
    assert quality_report(backend, support_threshold=0.2)["datasets"]["q"]["flags"][0]["status"] == "supported"


def test_real_data_quality_per_publisher(backend: DuckDBBackend) -> None:
    for path in sorted(shared("ocds", "real-compiled").glob("*.jsonl")):
        ingest_ocds(backend, [str(path)], path.stem)
    report = quality_report(backend)["datasets"]
    assert len(report) == 16
    assert report["armenia"]["coverage"]["bids.value_amount"] > 0.1
    assert {flag["code"]: flag["status"] for flag in report["armenia"]["flags"]}["R018"] != "unsupported"
    assert {flag["code"]: flag["status"] for flag in report["canada"]["flags"]}["R018"] == "unsupported"
    only = quality_report(backend, "moldova")["datasets"]
    assert list(only) == ["moldova"]
