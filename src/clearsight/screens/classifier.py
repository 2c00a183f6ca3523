"""The trained cartel classifier (opt-in): extremely randomised trees on the screens of labelled tenders, with
calibrated probabilities, and the model card that compares it with the default score (score.py).

Training data: any labelled bid tables (`clearsight screens train FILE... --mapping M`); the shipped trees learnt from
the datasets of García Rodríguez et al. (2022) (Switzerland, Japan, Italy, Brazil; one row per bid). Every tender's
screens are computed with clearsight's own SQL (`screens_sql`), so the model sees exactly what production computes; a
tender is labelled collusive when any of its bids is. Evaluation is cross-validation grouped by tender (each row is a
tender, so no tender's bids are in two folds) and across datasets (train on three countries, test on the fourth).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from clearsight.screens.score import ECONOMIC_SIGN, Reference, build_reference, judge
from clearsight.screens.sql import SCREEN_COLUMNS

FEATURES = SCREEN_COLUMNS
SEED = 20221
MODEL_FILE = "cartel_model.pkl"


@dataclass
class Labelled:
    """Tender-level screens and labels of one dataset."""

    name: str
    tenders: np.ndarray  # tender ids
    features: np.ndarray  # n x len(FEATURES), NaN where undefined
    labels: np.ndarray  # 1 collusive, 0 not
    default_score: np.ndarray | None = None  # the default screen score (score.py), where computed


def labelled(name: str, table: pa.Table, reference: Reference) -> Labelled:
    """The labelled tenders of `table` (score.tender_screens) that `reference` lets the default score judge."""
    judged = judge(table, reference)
    keep = np.array(
        [
            status == "scored" and label is not None
            for status, label in zip(
                judged.column("status").to_pylist(), judged.column("label").to_pylist(), strict=True
            )
        ],
        dtype=bool,
    )
    features = np.column_stack([judged.column(name).to_numpy(zero_copy_only=False).astype(float) for name in FEATURES])[
        keep
    ]
    scores = judged.column("score").to_numpy(zero_copy_only=False).astype(float)[keep]
    tenders = np.array(judged.column("tender").to_pylist(), dtype=object)[keep]
    labels = np.array(judged.column("label").to_pylist(), dtype=object)[keep].astype(int)
    return Labelled(name, tenders, features, labels, scores)


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
    from sklearn.metrics import average_precision_score, balanced_accuracy_score, brier_score_loss, roc_auc_score

    k = max(1, round(len(labels) * top_share))
    top = np.argsort(-probabilities, kind="stable")[:k]
    return {
        "auc": round(float(roc_auc_score(labels, probabilities)), 4),
        "pr_auc": round(float(average_precision_score(labels, probabilities)), 4),
        "brier": round(float(brier_score_loss(labels, np.clip(probabilities, 0, 1))), 4),
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


def model_card(tables: dict[str, pa.Table]) -> dict[str, Any]:
    """Per dataset: the default score with the reference built from the other datasets (it never sees the held-out
    one), the trees trained on the other datasets, the trees in grouped 5-fold CV on the dataset's own tenders, and
    each single screen in the direction economics gives it — all on the same tenders."""
    from sklearn.metrics import roc_auc_score

    card: dict[str, Any] = {}
    for held_out, table in tables.items():
        others = {name: other for name, other in tables.items() if name != held_out}
        reference = build_reference(others)
        data = labelled(held_out, table, reference)
        train = _pooled([labelled(name, other, reference) for name, other in others.items()])
        trees = fit_calibrated(train.features, train.labels, train.tenders)
        assert data.default_score is not None
        singles = {}
        for index, name in enumerate(FEATURES):
            column = data.features[:, index]
            filled = np.where(np.isnan(column), np.nanmedian(column), column)
            singles[name] = round(float(roc_auc_score(data.labels, ECONOMIC_SIGN[name] * filled)), 4)
        card[held_out] = {
            "default_other_countries": metrics(data.labels, data.default_score),
            "trees_other_countries": metrics(data.labels, trees.predict_proba(data.features)[:, 1]),
            "trees_own_tenders_grouped_cv": cross_validate(data),
            "single_screens": singles,
        }
    return {"datasets": card, "features": list(FEATURES), "seed": SEED}


def shipped_model_path() -> Path:
    """The shipped trees' file (with their reference), for `screens run --model shipped`."""
    return Path(str(resources.files("clearsight.screens").joinpath("model", MODEL_FILE)))


def load_shipped() -> Any:
    """The trees shipped in the package (`clearsight screens train` on the labelled datasets; see docs/screens.md)."""
    blob = resources.files("clearsight.screens").joinpath("model", MODEL_FILE).read_bytes()
    return pickle.loads(blob)["model"]
