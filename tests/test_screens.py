"""Bid-rigging screens against hand-computed values; the classifier's folds, determinism and shipped model."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import duckdb
import numpy as np

from clearsight.engine import DuckDBBackend
from clearsight.flags.profile import load_profile
from clearsight.ingest.pipeline import ingest_ocds
from clearsight.screens.bids import load_bid_mapping
from clearsight.screens.classifier import (
    FEATURES,
    Labelled,
    borrowing_helps,
    fit_calibrated,
    grouped_folds,
    labelled,
    load_shipped,
    shipped_model_path,
)
from clearsight.screens.files import load_model, read_tenders
from clearsight.screens.run import run_screens
from clearsight.screens.score import shipped_reference
from clearsight.screens.sql import screens_sql
from tests.conftest import shared

REPO = Path(__file__).resolve().parents[1]
BIDS = [100.0, 104.0, 110.0, 125.0, 131.0]


def hand_screens(bids: list[float]) -> dict[str, float]:
    b = sorted(bids)
    n, mean, sd = len(b), statistics.mean(b), statistics.stdev(b)
    z = [(value - mean) / sd for value in b]
    losing = b[1:]
    u = [(value - b[0]) / (b[-1] - b[0]) for value in b]
    return {
        "bids": n,
        "cv": sd / mean,
        "kurtosis": n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * sum(v**4 for v in z)
        - 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)),
        "skewness": n / ((n - 1) * (n - 2)) * sum(v**3 for v in z),
        "spread": (b[-1] - b[0]) / b[0],
        "diffp": (b[1] - b[0]) / b[0],
        "rd": (b[1] - b[0]) / statistics.stdev(losing),
        "altrd": (b[1] - b[0]) / ((b[-1] - b[1]) / (n - 2)),
        "ks": max(max((i + 1) / n - u[i], u[i] - i / n) for i in range(n)),
    }


def test_screens_match_hand_computed_values() -> None:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE b (ocid VARCHAR, lot_id VARCHAR, amount DOUBLE)")
    connection.executemany("INSERT INTO b VALUES ('t', NULL, ?)", [[value] for value in BIDS[::-1]])
    row = dict(zip(["ocid", "lot_id", *FEATURES], connection.execute(screens_sql("b")).fetchone(), strict=True))
    for name, value in hand_screens(BIDS).items():
        assert math.isclose(row[name], value, rel_tol=1e-9), name


def test_small_tenders_leave_undefined_screens_empty() -> None:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE b AS SELECT 't' AS ocid, NULL::VARCHAR AS lot_id, 5.0 AS amount")
    row = dict(zip(["ocid", "lot_id", *FEATURES], connection.execute(screens_sql("b")).fetchone(), strict=True))
    assert row["bids"] == 1 and row["diffp"] is None and row["rd"] is None and row["ks"] is None


def test_grouped_folds_never_split_a_tender() -> None:
    tenders = np.array([f"t{n % 37}" for n in range(200)])  # several rows per tender
    seen_in_test: dict[str, int] = {}
    for fold, (train, test) in enumerate(grouped_folds(tenders, 5)):
        assert not set(tenders[train]) & set(tenders[test])
        for tender in set(tenders[test]):
            assert tender not in seen_in_test
            seen_in_test[tender] = fold
    assert set(seen_in_test) == set(tenders)


def _planted(n: int, seed: int, sign: float, noise: float) -> Labelled:
    """Tenders whose first screen carries the label (sign +1) or its opposite (sign -1), plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    features = rng.normal(size=(n, 9))
    features[:, 0] = sign * labels + rng.normal(scale=noise, size=n)
    return Labelled(f"s{seed}", np.array([f"s{seed}-{i}" for i in range(n)]), features, labels)


def test_other_countries_are_borrowed_only_when_an_inner_cv_says_they_help() -> None:
    small = _planted(60, 1, 1.0, 1.5)  # a weak signal in few tenders
    alike = _planted(600, 2, 1.0, 0.3)  # the same signal, clearer and plentiful
    opposite = _planted(600, 3, -1.0, 0.3)  # the opposite pattern
    assert borrowing_helps(small.features, small.labels, small.tenders, alike)
    assert not borrowing_helps(small.features, small.labels, small.tenders, opposite)


def test_training_is_deterministic_and_labels_are_per_tender() -> None:
    path = shared("collusion") / "DB_Collusion_Brazil_processed.csv"
    tables, _ = read_tenders([path], load_bid_mapping(REPO / "benchmarks" / "collusion.yaml"), require_label=True)
    data = labelled("brazil", tables[path.stem], shipped_reference())
    # 101 tenders: 23 with fewer than 4 bids, 1 more dispersed than 99.5% of the reference tenders.
    assert len(data.labels) == 77 and len(set(data.tenders)) == 77 and data.features.shape == (77, len(FEATURES))
    first = fit_calibrated(data.features, data.labels, data.tenders).predict_proba(data.features)[:, 1]
    second = fit_calibrated(data.features, data.labels, data.tenders).predict_proba(data.features)[:, 1]
    assert np.allclose(first, second, rtol=0, atol=1e-12)  # same seed; parallel sums may differ in the last bit


def test_the_shipped_model_scores_screens() -> None:
    model = load_shipped()
    features = np.array([[5, 0.05, -1.0, 0.2, 0.12, 0.01, 0.3, 0.4, 0.2], [4] + [np.nan] * 8])
    probabilities = model.predict_proba(features)[:, 1]
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    record = json.loads((REPO / "src" / "clearsight" / "screens" / "model" / "cartel_model.json").read_text())
    assert record["features"] == list(FEATURES)
    assert sum(counts["tenders"] for counts in record["trained_on"].values()) == 4358


def test_run_screens_per_tender_and_lot(tmp_path: Path) -> None:
    def bid(number: int, amount: float, lot: str | None = None) -> dict:
        item = {
            "id": str(number),
            "status": "valid",
            "tenderers": [{"id": f"T{number}"}],
            "value": {"amount": amount, "currency": "EUR"},
        }
        return {**item, "relatedLots": [lot]} if lot else item

    releases = [
        {"ocid": "whole", "bids": {"details": [bid(n, amount) for n, amount in enumerate(BIDS)]}},
        {
            "ocid": "lots",
            "bids": {
                "details": [bid(n, 100 + n, "L1") for n in range(4)] + [bid(n + 4, 200 + n, "L2") for n in range(2)]
            },
        },
    ]
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(release) + "\n" for release in releases))
    with DuckDBBackend(":memory:") as backend:
        ingest_ocds(backend, [str(path)], "d", compiled=True, workers=1)
        summary = run_screens(backend, "d", load_profile("default"), model=load_model(shipped_model_path()))
        rows = {
            (row["ocid"], row["lot_id"]): row
            for row in backend.query_dicts("SELECT * FROM screen_results WHERE run_id = ?", [summary.run_id])
        }
    assert (summary.screened, summary.insufficient, summary.out_of_domain, summary.scored) == (2, 1, 0, 2)
    assert {key: (row["status"], row["reason"]) for key, row in rows.items()} == {
        ("whole", None): ("screened", None),
        ("lots", "L1"): ("screened", None),
        ("lots", "L2"): ("insufficient_data", "2 bids: the screens need 4"),
    }
    assert rows[("lots", "L2")]["cartel_probability"] is None and rows[("lots", "L2")]["score"] is None
    assert rows[("lots", "L1")]["bids"] == 4
    whole = rows[("whole", None)]
    assert math.isclose(whole["cv"], hand_screens(BIDS)["cv"], rel_tol=1e-9)
    reference = shipped_reference()
    expected = (
        1
        - (
            reference.share_below("cv", np.array([whole["cv"]]))
            + reference.share_below("spread", np.array([whole["spread"]]))
        )
        / 2
    )
    assert math.isclose(whole["score"], float(expected[0]), abs_tol=1e-6)
    assert 0 <= whole["cartel_probability"] <= 1


def test_a_firm_bidding_twice_in_a_tender_is_out_of_domain_and_older_warehouses_gain_the_new_columns(
    tmp_path: Path,
) -> None:
    bids = [
        {"id": str(n), "status": "valid", "tenderers": [{"id": firm}], "value": {"amount": amount, "currency": "EUR"}}
        for n, (firm, amount) in enumerate([("Alpha", 100), ("Alpha", 98), ("Beta", 99), ("Gamma", 101)])
    ]
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"ocid": "auction", "bids": {"details": bids}}) + "\n")
    database = str(tmp_path / "w.duckdb")
    with DuckDBBackend(database) as backend:
        # A warehouse made before screen_results had reason and score.
        backend.execute(
            "CREATE TABLE screen_results (run_id VARCHAR, dataset VARCHAR, ocid VARCHAR, lot_id VARCHAR, "
            "status VARCHAR, bids INTEGER, cv DOUBLE, kurtosis DOUBLE, skewness DOUBLE, spread DOUBLE, diffp DOUBLE, "
            "rd DOUBLE, altrd DOUBLE, ks DOUBLE, cartel_probability DOUBLE)"
        )
        backend.execute(
            "INSERT INTO screen_results (run_id, dataset, ocid, status) VALUES ('old', 'd', 'x', 'screened')"
        )
    with DuckDBBackend(database) as backend:
        ingest_ocds(backend, [str(path)], "d", compiled=True, workers=1)
        summary = run_screens(backend, "d", load_profile("default"))
        rows = backend.query("SELECT run_id, ocid, status, reason, score FROM screen_results ORDER BY run_id")
    assert (summary.screened, summary.insufficient, summary.out_of_domain, summary.scored) == (0, 0, 1, 0)
    assert rows == [
        ("old", "x", "screened", None, None),
        (
            summary.run_id,
            "auction",
            "out_of_domain",
            "Alpha bid 2 times: the screens assume one sealed bid per firm (successive bids of an auction are another "
            "format; `screens score --lowest-per-firm` takes each firm's lowest)",
            None,
        ),
    ]
