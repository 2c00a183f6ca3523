"""`clearsight screens score / evaluate / train` on bid tables an agency brings (screens/bids.py mappings)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from clearsight.screens.bids import BidMapping, BidReport, read_bids
from clearsight.screens.score import (
    ECONOMIC_SIGN,
    LOWEST_PER_FIRM,
    MINIMUM_BIDS,
    Reference,
    build_reference,
    judge,
    shipped_reference,
    tender_screens,
    usable,
)
from clearsight.screens.sql import SCREEN_COLUMNS

SEED = 20221


def read_tenders(
    files: list[Path], mapping: BidMapping, require_label: bool = False, lowest_per_firm: bool = False
) -> tuple[dict[str, pa.Table], list[BidReport]]:
    """Each file's tender screens (keyed by the file's name), and what was read from each. With `lowest_per_firm`,
    each firm's lowest bid in a tender (or lot) stands for its bids: its final price in a descending auction."""
    if lowest_per_firm and mapping.bidder is None:
        from clearsight.registry.mapping import MappingError

        raise MappingError("--lowest-per-firm needs the mapping to name the bidder column (bidder: …)")
    tables: dict[str, pa.Table] = {}
    reports: list[BidReport] = []
    for path in files:
        connection = duckdb.connect()
        try:
            reports.append(read_bids(connection, path, mapping, path.stem, require_label))
            tables[_unique(path.stem, tables)] = tender_screens(
                connection, LOWEST_PER_FIRM if lowest_per_firm else "bids"
            )
        finally:
            connection.close()
    return tables, reports


def _unique(name: str, taken: dict[str, Any]) -> str:
    number, candidate = 2, name
    while candidate in taken:
        candidate, number = f"{name}-{number}", number + 1
    return candidate


def load_model(path: Path) -> dict[str, Any]:
    """A model written by `train` (a pickle: load only files you made or trust)."""
    with open(path, "rb") as handle:
        blob = pickle.load(handle)
    if not isinstance(blob, dict) or "model" not in blob or "reference" not in blob:
        raise ValueError(f"{path}: not a model written by `clearsight screens train`")
    return blob


def score(
    table: pa.Table, reference: Reference, model: dict[str, Any] | None = None, minimum_bids: int = MINIMUM_BIDS
) -> pa.Table:
    """Judged tenders (status, reason, score), with the trained model's probability when a model is given."""
    judged = judge(table, reference, minimum_bids)
    if model is not None:
        features = _features(judged)
        scored = np.array([value == "scored" for value in judged.column("status").to_pylist()], dtype=bool)
        probability = np.full(judged.num_rows, np.nan)
        if scored.any():
            probability[scored] = model["model"].predict_proba(features[scored])[:, 1]
        judged = judged.append_column("probability", pa.array(np.round(probability, 6), pa.float64(), mask=~scored))
    return judged


def _features(table: pa.Table) -> np.ndarray:
    return np.column_stack([table.column(name).to_numpy(zero_copy_only=False).astype(float) for name in SCREEN_COLUMNS])


def _labels(table: pa.Table) -> np.ndarray:
    return np.array([-1 if value is None else value for value in table.column("label").to_pylist()], dtype=int)


def evaluate(table: pa.Table, reference: Reference, folds: int = 5) -> dict[str, Any]:
    """How the default score ranks the labelled tenders it scores, beside each single screen and a random forest
    retrained on these tenders (grouped `folds`-fold CV), all on the same tenders, in the same run."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    judged = judge(table, reference)
    status = np.array(judged.column("status").to_pylist())
    labels = _labels(judged)
    scored = (status == "scored") & (labels >= 0)
    y = labels[scored]
    result: dict[str, Any] = {
        "tenders": int(scored.sum()),
        "collusive": int(y.sum()),
        "insufficient_data": int((status == "insufficient_data").sum()),
        "out_of_domain": int((status == "out_of_domain").sum()),
        "out_of_domain_collusive": int(((status == "out_of_domain") & (labels == 1)).sum()),
        "unlabelled": int(((status == "scored") & (labels < 0)).sum()),
    }
    if len(set(y.tolist())) < 2:
        reason = "no tender scored" if not len(y) else "one class only: no ranking to judge"
        return {**result, "auc": None, "pr_auc": None, "baselines": {}, "reason": reason}
    values = judged.column("score").to_numpy(zero_copy_only=False).astype(float)[scored]
    features = _features(judged)[scored]
    baselines: dict[str, float | None] = {}
    for index, name in enumerate(SCREEN_COLUMNS):
        column = features[:, index]
        # An undefined screen ranks in the middle: neither suspicious nor clean.
        filled = np.where(np.isnan(column), np.nanmedian(column) if (~np.isnan(column)).any() else 0.0, column)
        baselines[name] = round(float(roc_auc_score(y, ECONOMIC_SIGN[name] * filled)), 4)
    baselines["random_forest_grouped_cv"] = _forest_auc(features, y, folds)
    return {
        **result,
        "auc": round(float(roc_auc_score(y, values)), 4),
        "pr_auc": round(float(average_precision_score(y, values)), 4),
        "collusive_share": round(float(y.mean()), 4),
        "baselines": baselines,
    }


def _forest_auc(features: np.ndarray, labels: np.ndarray, folds: int) -> float | None:
    """Out-of-fold ROC AUC of a random forest (300 trees) in `folds` folds stratified by label; each row is one
    tender, so a tender's bids are never in two folds."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    if np.bincount(labels).min() < folds:
        return None
    out = np.zeros(len(labels))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(features, labels):
        model = RandomForestClassifier(n_estimators=300, n_jobs=2, random_state=SEED)
        out[test] = model.fit(features[train], labels[train]).predict_proba(features[test])[:, 1]
    return round(float(roc_auc_score(labels, out)), 4)


def train(tables: dict[str, pa.Table], out: Path) -> dict[str, Any]:
    """Trees on the labelled tenders of `tables` that the reference built from them covers; writes the model and the
    reference (pickle) beside a JSON record of both."""
    import sklearn

    from clearsight.screens.classifier import fit_calibrated

    reference = build_reference(tables)
    features, labels, groups, counts = [], [], [], {}
    for name, table in tables.items():
        # Every tender the screens can judge, its own dispersion tail included (the reference is made of them).
        y = _labels(table)
        keep = usable(table) & (y >= 0)
        features.append(_features(table)[keep])
        labels.append(y[keep])
        tenders = table.column("tender").to_pylist()
        groups += [f"{name}:{tender}" for tender, kept in zip(tenders, keep, strict=True) if kept]
        counts[name] = {"tenders": int(keep.sum()), "collusive": int(y[keep].sum())}
    x, y = np.vstack(features), np.concatenate(labels)
    if len(set(y.tolist())) < 2:
        raise ValueError("training needs collusive and competitive tenders; these files have one class only")
    model = fit_calibrated(x, y, np.array(groups))
    record = {
        "trained_on": counts,
        "features": list(SCREEN_COLUMNS),
        "sklearn": sklearn.__version__,
        "seed": SEED,
        "reference": reference.to_dict(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:
        pickle.dump(
            {"model": model, "reference": reference.to_dict(), **record}, handle, protocol=pickle.HIGHEST_PROTOCOL
        )
    out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    return {key: value for key, value in record.items() if key != "reference"}


def default_reference() -> Reference:
    return shipped_reference()


def read_firms(path: Path, mapping: BidMapping, reference: Reference) -> tuple[pa.Table, BidReport]:
    """The firm screens (firms.py) of one bid table, and what was read from it."""
    from clearsight.registry.mapping import MappingError
    from clearsight.screens.firms import firm_screens

    if mapping.bidder is None:
        raise MappingError(f"{path}: the mapping names no bidder column (bidder: …), which firm screens need")
    connection = duckdb.connect()
    try:
        report = read_bids(connection, path, mapping, path.stem)
        judged = judge(tender_screens(connection), reference)
        return firm_screens(connection, judged), report
    finally:
        connection.close()
