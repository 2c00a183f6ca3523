"""The cartel classifier: extremely randomised trees on the screens of labelled tenders, with calibrated probabilities.

Training data: the labelled bid-rigging datasets of García Rodríguez et al. (2022) (Switzerland, Japan, Italy,
Brazil; one row per bid). Every tender's screens are recomputed with clearsight's own SQL (`screens_sql`), so the
model sees exactly what production computes; a tender is labelled collusive when any of its bids is. Evaluation
is cross-validation grouped by tender (each row is a tender, so no tender's bids are in two folds) and across
datasets (train on three countries, test on the fourth).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from clearsight.screens.sql import SCREEN_COLUMNS, screens_sql

FEATURES = SCREEN_COLUMNS
DATASETS = {
    "switzerland": "DB_Collusion_Switzerland_GR_and_See-Gaster_processed.csv",
    "japan": "DB_Collusion_Japan_processed.csv",
    "italy": "DB_Collusion_Italy_processed.csv",
    "brazil": "DB_Collusion_Brazil_processed.csv",
}
BASELINE_AUC = {"switzerland": 0.71, "japan": 0.80, "italy": 0.89, "brazil": 0.88}  # ../shared/data/collusion
MINIMUM_BIDS = 4
SEED = 20221
MODEL_FILE = "cartel_model.pkl"


@dataclass
class Labelled:
    """Tender-level screens and labels of one dataset."""

    name: str
    tenders: np.ndarray  # tender ids
    features: np.ndarray  # n x len(FEATURES), NaN where undefined
    labels: np.ndarray  # 1 collusive, 0 not


def load_labelled(folder: Path, name: str) -> Labelled:
    """Screens of every tender with at least MINIMUM_BIDS bids, computed by clearsight's SQL."""
    path = str(folder / DATASETS[name]).replace("'", "''")
    connection = duckdb.connect()
    connection.execute(f"""
        CREATE TABLE labelled_bids AS
        SELECT CAST(Tender AS VARCHAR) AS ocid, NULL::VARCHAR AS lot_id, CAST(Bid_value AS DOUBLE) AS amount,
               CAST(Collusive_competitor AS INTEGER) AS collusive
        FROM read_csv('{path}', header = true)""")
    rows = connection.execute(f"""
        SELECT s.*, l.collusive
        FROM ({screens_sql("labelled_bids")}) AS s
        JOIN (SELECT ocid, max(collusive) AS collusive FROM labelled_bids GROUP BY ocid) AS l USING (ocid)
        WHERE s.bids >= {MINIMUM_BIDS}
        ORDER BY s.ocid""").fetchall()
    connection.close()
    columns = ["ocid", "lot_id", *FEATURES, "collusive"]
    table = np.array(rows, dtype=object)
    features = table[:, [columns.index(feature) for feature in FEATURES]].astype(float)
    return Labelled(name, table[:, 0], features, table[:, -1].astype(int))


def new_model(training_tenders: int) -> Any:
    """Extremely randomised trees; leaves grow with the training set (small sets keep fine leaves)."""
    from sklearn.ensemble import ExtraTreesClassifier

    return ExtraTreesClassifier(
        n_estimators=300, min_samples_leaf=max(2, training_tenders // 300), n_jobs=2, random_state=SEED
    )


def fit_calibrated(
    features: np.ndarray, labels: np.ndarray, tenders: np.ndarray, weights: np.ndarray | None = None
) -> Any:
    """Trees on all the given tenders, with one sigmoid calibration fitted on their out-of-fold predictions
    (5 folds grouped by tender). A sigmoid is monotone: calibration changes probabilities, never the ranking."""
    from sklearn.calibration import CalibratedClassifierCV

    splits = grouped_folds(tenders, 5)
    model = CalibratedClassifierCV(new_model(len(labels)), method="sigmoid", cv=splits, ensemble=False)
    return model.fit(features, labels, sample_weight=weights)


def _with_borrowed(
    features: np.ndarray, labels: np.ndarray, borrowed: Labelled
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Own tenders plus borrowed ones (other countries), own tenders weighted to count as much as all borrowed."""
    weights = np.concatenate(
        [np.full(len(labels), len(borrowed.labels) / max(1, len(labels))), np.ones(len(borrowed.labels))]
    )
    return np.vstack([features, borrowed.features]), np.concatenate([labels, borrowed.labels]), weights


def borrowing_helps(features: np.ndarray, labels: np.ndarray, tenders: np.ndarray, borrowed: Labelled) -> bool:
    """Whether adding other countries' tenders to these ranks these better, by 3-fold CV grouped by tender on these
    tenders only (so it can run inside an outer fold without seeing its test tenders)."""
    from sklearn.metrics import roc_auc_score

    own, pooled = np.zeros(len(labels)), np.zeros(len(labels))
    for train, test in grouped_folds(tenders, 3):
        own[test] = new_model(len(train)).fit(features[train], labels[train]).predict_proba(features[test])[:, 1]
        x, y, w = _with_borrowed(features[train], labels[train], borrowed)
        pooled[test] = new_model(len(y)).fit(x, y, sample_weight=w).predict_proba(features[test])[:, 1]
    return bool(roc_auc_score(labels, pooled) > roc_auc_score(labels, own))


def metrics(labels: np.ndarray, probabilities: np.ndarray, top_share: float = 0.1) -> dict[str, float]:
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    k = max(1, round(len(labels) * top_share))
    top = np.argsort(-probabilities, kind="stable")[:k]
    return {
        "auc": round(float(roc_auc_score(labels, probabilities)), 4),
        "balanced_accuracy": round(float(balanced_accuracy_score(labels, probabilities >= 0.5)), 4),
        "precision_at_top_10pct": round(float(labels[top].mean()), 4),
        "tenders": len(labels),
        "collusive_share": round(float(labels.mean()), 4),
    }


def grouped_folds(tenders: np.ndarray, folds: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds by tender: every tender's rows (here: its one row) fall in exactly one test fold."""
    from sklearn.model_selection import GroupKFold

    indices = np.arange(len(tenders))
    return list(GroupKFold(n_splits=folds).split(indices, groups=tenders))


def cross_validate(data: Labelled, folds: int = 5, borrowed: Labelled | None = None) -> dict[str, float]:
    """Grouped CV. With `borrowed` (other countries' tenders), each outer fold decides on its training tenders alone
    (`borrowing_helps`, an inner grouped CV) whether to add them — what an agency retraining on its own cases does."""
    probabilities = np.zeros(len(data.labels))
    borrowing_folds = 0
    for train, test in grouped_folds(data.tenders, folds):
        features, labels, tenders = data.features[train], data.labels[train], data.tenders[train]
        if borrowed is not None and borrowing_helps(features, labels, tenders, borrowed):
            borrowing_folds += 1
            x, y, w = _with_borrowed(features, labels, borrowed)
            groups = np.concatenate([tenders.astype(str), [f"borrowed:{t}" for t in borrowed.tenders]])
            model = fit_calibrated(x, y, groups, w)
        else:
            model = fit_calibrated(features, labels, tenders)
        probabilities[test] = model.predict_proba(data.features[test])[:, 1]
    result = metrics(data.labels, probabilities)
    if borrowed is not None:
        result["folds_borrowing"] = borrowing_folds
    return result


def _pooled(items: list[Labelled]) -> Labelled:
    return Labelled(
        "+".join(item.name for item in items),
        np.array([f"{item.name}:{tender}" for item in items for tender in item.tenders]),
        np.vstack([item.features for item in items]),
        np.concatenate([item.labels for item in items]),
    )


def evaluate(folder: Path) -> dict[str, Any]:
    """Per dataset (grouped 5-fold CV) and across datasets (leave one country out), against the baselines."""
    data = {name: load_labelled(folder, name) for name in DATASETS}
    within = {name: {**cross_validate(labelled), "baseline_auc": BASELINE_AUC[name]} for name, labelled in data.items()}
    borrowing = {
        name: {
            **cross_validate(labelled, borrowed=_pooled([data[other] for other in DATASETS if other != name])),
            "baseline_auc": BASELINE_AUC[name],
        }
        for name, labelled in data.items()
    }
    across = {}
    for held_out in DATASETS:
        train = _pooled([data[name] for name in DATASETS if name != held_out])
        model = fit_calibrated(train.features, train.labels, train.tenders)
        probabilities = model.predict_proba(data[held_out].features)[:, 1]
        across[held_out] = metrics(data[held_out].labels, probabilities)
    return {
        "within_dataset_grouped_cv": within,
        "within_dataset_borrowing_when_it_helps": borrowing,
        "leave_one_dataset_out": across,
        "features": list(FEATURES),
        "minimum_bids": MINIMUM_BIDS,
        "seed": SEED,
    }


def train(folder: Path, out: Path) -> dict[str, Any]:
    """Train on all four datasets and write the model (pickle) beside a JSON record of how it was made."""
    import sklearn

    data = [load_labelled(folder, name) for name in DATASETS]
    pooled = _pooled(data)
    model = fit_calibrated(pooled.features, pooled.labels, pooled.tenders)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:
        pickle.dump(
            {"model": model, "features": list(FEATURES), "sklearn": sklearn.__version__},
            handle,
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    record = {
        "trained_on": {item.name: len(item.labels) for item in data},
        "features": list(FEATURES),
        "sklearn": sklearn.__version__,
        "seed": SEED,
        "minimum_bids": MINIMUM_BIDS,
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=2))
    return record


def load_shipped() -> Any:
    """The model shipped in the package (trained by `clearsight screens train`)."""
    blob = resources.files("clearsight.screens").joinpath("model", MODEL_FILE).read_bytes()
    return pickle.loads(blob)["model"]
