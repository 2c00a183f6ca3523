"""The linkage model: Fellegi–Sunter with Splink 5, on DuckDB (Splink's Spark backend takes the same settings).

Comparisons are written once as DuckDB SQL conditions in `CustomLevel`s, which Splink translates (sqlglot) for
other backends. Each level starts from prior m and u probabilities, so a model exists before any training; with
enough records, training replaces them: u by random sampling (seeded), the prior match probability from
deterministic rules, m by expectation maximisation on blocked pairs. Every scored pair carries its explanation:
the prior weight plus one weight per comparison, which add up to the pair's match weight.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
from splink import Linker, SettingsCreator
from splink.comparison_level_library import CustomLevel
from splink.comparison_library import CustomComparison

from clearsight.engine.base import sql_literal
from clearsight.linkage.engines import DuckDBLinks, LinkEngine
from clearsight.linkage.prepare import PREPARED

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Level:
    label: str
    sql: str  # condition on <column>_l and <column>_r, DuckDB dialect
    m: float
    u: float


@dataclass(frozen=True)
class Field:
    """One comparison: the prepared column it reads (null level when either side lacks it) and its levels."""

    name: str
    column: str
    levels: tuple[Level, ...]
    term_frequency: bool = False  # adjust the exact level for how common the value is


def _jw(column: str, threshold: float) -> str:
    return f"jaro_winkler_similarity({column}_l, {column}_r) >= {threshold}"


def _one_typo(same: str, other: str) -> str:
    """The `same` part of the name agrees (folded) and the `other` is a typo or two away, as written or folded.

    Clerks mistype one part far more often than both; folding can lengthen the distance (a doubled letter typed
    collapses: "Naalia" folds to "nalia"), so the parts are also compared as written.
    """
    return (
        f"{same}_canon_l = {same}_canon_r AND (damerau_levenshtein({other}_l, {other}_r) <= 1 "
        f"OR damerau_levenshtein({other}_canon_l, {other}_canon_r) <= 1 "
        f"OR jaro_winkler_similarity({other}_canon_l, {other}_canon_r) >= 0.84)"
    )


FIELDS: tuple[Field, ...] = (
    Field(
        "name",
        "name_sorted",
        (
            Level("same name tokens (any order)", "name_sorted_l = name_sorted_r", 0.60, 0.0005),
            Level("same after nicknames and transliteration", "name_canon_l = name_canon_r", 0.08, 0.0005),
            Level("same letters, spaced or ordered differently", "name_letters_l = name_letters_r", 0.03, 0.0003),
            Level("very similar (Jaro-Winkler ≥ 0.94)", _jw("name_canon", 0.94), 0.10, 0.002),
            Level(
                "one name the same, the other with a typo or two",
                f"({_one_typo('given', 'family')}) OR ({_one_typo('family', 'given')})",
                0.04,
                0.0004,
            ),
            Level(
                "given and family names each similar, in either order",
                f"({_jw('given_canon', 0.88)} AND {_jw('family_canon', 0.88)}) OR (jaro_winkler_similarity("
                "given_canon_l, family_canon_r) >= 0.88 AND jaro_winkler_similarity(family_canon_l, given_canon_r)"
                " >= 0.88)",
                0.04,
                0.0005,
            ),
            Level("similar (Jaro-Winkler ≥ 0.9)", _jw("name_canon", 0.9), 0.03, 0.0055),
            Level(
                "a name token in common",
                "array_length(array_intersect(string_split(name_canon_l, ' '), string_split(name_canon_r, ' '))) > 0",
                0.06,
                0.064,
            ),
            Level("different", "ELSE", 0.02, 0.9263),
        ),
        term_frequency=True,
    ),
    Field(
        "date_of_birth",
        "dob",
        (
            Level("same date", "dob_l = dob_r", 0.85, 0.0001),
            Level(
                "day and month swapped",
                "left(dob_l, 4) = left(dob_r, 4) AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
                "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                0.03,
                0.00002,
            ),
            Level("one typo (Damerau-Levenshtein ≤ 1)", "damerau_levenshtein(dob_l, dob_r) <= 1", 0.07, 0.002),
            Level(
                "within 10 days",
                "abs(date_diff('day', TRY_CAST(dob_l AS DATE), TRY_CAST(dob_r AS DATE))) <= 10",
                0.03,
                0.0006,
            ),
            Level("same year", "left(dob_l, 4) = left(dob_r, 4)", 0.01, 0.012),
            Level("different", "ELSE", 0.01, 0.98528),
        ),
    ),
    Field(
        "national_id",
        "nid",
        (
            Level("same identifier", "nid_l = nid_r", 0.90, 0.00001),
            Level("one typo (Damerau-Levenshtein ≤ 1)", "damerau_levenshtein(nid_l, nid_r) <= 1", 0.07, 0.0001),
            Level("different", "ELSE", 0.03, 0.99989),
        ),
    ),
    Field(
        "address",
        "address",
        (
            Level("same address", "address_l = address_r", 0.60, 0.001),
            Level("very similar (Jaro-Winkler ≥ 0.92)", _jw("address", 0.92), 0.20, 0.005),
            Level("similar (Jaro-Winkler ≥ 0.8)", _jw("address", 0.8), 0.10, 0.05),
            Level("different", "ELSE", 0.10, 0.944),
        ),
        term_frequency=True,
    ),
    Field(
        "phone",
        "phone",
        (
            Level("same number", "phone_l = phone_r", 0.75, 0.0001),
            Level("one typo", "damerau_levenshtein(phone_l, phone_r) <= 1", 0.05, 0.001),
            Level("different", "ELSE", 0.20, 0.9989),
        ),
    ),
    Field(
        "email",
        "email",
        (
            Level("same e-mail", "email_l = email_r", 0.70, 0.0001),
            Level("different", "ELSE", 0.30, 0.9999),
        ),
    ),
    Field(
        "sex",
        "sex",
        (
            Level("same", "sex_l = sex_r", 0.97, 0.5),
            Level("different", "ELSE", 0.03, 0.5),
        ),
    ),
)

# Blocking: a pair is scored when one of these holds (and the columns exist). Chosen to keep the number of
# pairs near linear in the records while tolerating one error in any field.
BLOCKING: tuple[tuple[tuple[str, ...], str], ...] = (
    (("nid",), "l.nid = r.nid"),
    (("dob", "name_sorted"), "l.dob = r.dob AND left(l.name_sorted, 1) = left(r.name_sorted, 1)"),
    (("dob", "given"), "l.dob = r.dob AND l.given = r.given"),
    (("dob", "family"), "l.dob = r.dob AND l.family = r.family"),
    # The same name, and birth years that agree or are unknown on one side.
    (
        ("dob", "name_sorted"),
        "l.name_sorted = r.name_sorted AND (left(l.dob, 4) = left(r.dob, 4) OR l.dob IS NULL OR r.dob IS NULL)",
    ),
    (("dob", "name_canon"), "l.name_canon = r.name_canon AND left(l.dob, 4) = left(r.dob, 4)"),
    (("name_sorted",), "l.name_sorted = r.name_sorted"),  # used only when there are no dates of birth
    (("phone",), "l.phone = r.phone"),
    (("email",), "l.email = r.email"),
    (("address", "name_sorted"), "l.address = r.address AND left(l.name_sorted, 1) = left(r.name_sorted, 1)"),
)


# Second pass (linkage of two inputs): left records that found no candidate as probable as the threshold are
# compared again under looser rules. Few records are left by then, so rules that would pair too many for everyone
# are affordable.
SECOND_PASS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("dob",), "l.dob = r.dob"),
    (
        ("dob",),
        "left(l.dob, 4) = left(r.dob, 4) "
        "AND least(substr(l.dob, 6, 2), substr(l.dob, 9, 2)) = least(substr(r.dob, 6, 2), substr(r.dob, 9, 2)) "
        "AND greatest(substr(l.dob, 6, 2), substr(l.dob, 9, 2)) = greatest(substr(r.dob, 6, 2), substr(r.dob, 9, 2))",
    ),
    (("dob", "family_canon"), "l.family_canon = r.family_canon AND left(l.dob, 4) = left(r.dob, 4)"),
    (("dob", "given_canon"), "l.given_canon = r.given_canon AND left(l.dob, 4) = left(r.dob, 4)"),
    (("name_sorted",), "l.name_sorted = r.name_sorted"),
    (("name_letters",), "l.name_letters = r.name_letters"),
    # Both parts mistyped and the date a day out: born the same month, a part starting alike (either order).
    (
        ("dob", "family_canon"),
        "left(l.dob, 7) = left(r.dob, 7) AND left(l.family_canon, 2) = left(r.family_canon, 2)",
    ),
    (("dob", "given_canon"), "left(l.dob, 7) = left(r.dob, 7) AND left(l.given_canon, 2) = left(r.given_canon, 2)"),
    (
        ("dob", "given_canon", "family_canon"),
        "left(l.dob, 7) = left(r.dob, 7) AND (left(l.given_canon, 2) = left(r.family_canon, 2) "
        "OR left(l.family_canon, 2) = left(r.given_canon, 2))",
    ),
)


Rules = tuple[tuple[tuple[str, ...], str], ...]


@dataclass(frozen=True)
class Scheme:
    """How records are compared: plain prepared columns, or keyed Bloom-filter encodings (see encode.py)."""

    name: str
    fields: tuple[Field, ...]
    columns: tuple[str, ...]  # the prepared columns a table of this scheme may have
    blocking: Rules
    second_pass: Rules
    deterministic: Rules  # for estimating the prior match probability
    em_blocks: Rules  # training blocks: each trains the comparisons it does not use
    name_column: str  # the column every input must have


PLAIN = Scheme(
    name="plain",
    fields=FIELDS,
    columns=PREPARED,
    blocking=BLOCKING,
    second_pass=SECOND_PASS,
    deterministic=(
        (("nid", "dob"), "l.nid = r.nid AND l.dob = r.dob"),
        (("name_sorted", "dob"), "l.name_sorted = r.name_sorted AND l.dob = r.dob"),
        (("name_sorted", "address"), "l.name_sorted = r.name_sorted AND l.address = r.address"),
    ),
    em_blocks=(
        (("dob",), "l.dob = r.dob"),
        (("name_sorted",), "l.name_sorted = r.name_sorted"),
    ),
    name_column="name_sorted",
)


@dataclass
class LinkOptions:
    threshold: float = 0.9  # match probability from which two records are one (clusters)
    # Pairs are reported from this probability (default: the threshold); lower keeps weaker candidates too, which
    # checks of absence (no match at all) need.
    candidate_threshold: float | None = None
    # Or: report pairs whose evidence (match weight minus the prior's weight, in bits) reaches this, whatever the
    # population size — what checks of absence need, since the prior shrinks as registries grow.
    candidate_min_evidence: float | None = None
    seed: int = 42
    train: bool = True
    min_training_records: int = 1_000  # below this the prior parameters are used
    u_sample_pairs: float = 1e6
    em_max_pairs: float = 2e6  # EM trains on a (deterministic, hash-based) sample of blocked pairs beyond this
    prior_match_probability: float | None = None  # P(two random records match); estimated when None
    threads: int | None = None
    memory_limit: str | None = None
    second_pass: bool = True  # linkage only: compare records left without a candidate under looser rules


@dataclass
class LinkResult:
    pairs: pa.Table  # source_l, id_l, source_r, id_r, match_probability, match_weight, cluster_id, explanation
    clusters: pa.Table  # source_dataset, record_id, cluster_id (every record, singletons included)
    summary: dict[str, Any] = field(default_factory=dict)


def _columns_with_values(engine: LinkEngine, tables: Sequence[str], scheme: Scheme) -> set[str]:
    """Prepared columns that have at least one value in every input (a comparison needs both sides)."""
    found = None
    for table in tables:
        present = engine.columns(table)
        names = [name for name in scheme.columns if name in present]
        counts = engine.rows("SELECT " + ", ".join(f"count({name}) AS {name}" for name in names) + f" FROM {table}")[0]
        here = {name for name, count in zip(names, counts, strict=True) if count}
        found = here if found is None else found & here
    return found or set()


def _comparison(item: Field, engine: LinkEngine) -> CustomComparison:
    dialect = engine.base_dialect
    null = f"{item.column}_l IS NULL OR {item.column}_r IS NULL"
    levels: list[Any] = [CustomLevel(null, "null", base_dialect_str=dialect).configure(is_null_level=True)]
    for index, level in enumerate(item.levels):
        options: dict[str, Any] = {"m_probability": level.m, "u_probability": level.u}
        if item.term_frequency and index == 0:
            options["tf_adjustment_column"] = item.column
        condition = level.sql if level.sql == "ELSE" else engine.level(level.sql)
        levels.append(CustomLevel(condition, level.label, base_dialect_str=dialect).configure(**options))
    return CustomComparison(levels, output_column_name=item.name)


def applicable(rules: Rules, columns: set[str]) -> list[str]:
    return [rule for needed, rule in rules if set(needed) <= columns]


def blocking_for(columns: set[str], scheme: Scheme = PLAIN) -> list[str]:
    rules = applicable(scheme.blocking, columns)
    if len(rules) > 1:  # names alone block too widely when dates can narrow them
        unnarrowed = [rule for needed, rule in scheme.blocking if needed == (scheme.name_column,)]
        rules = [rule for rule in rules if rule not in unnarrowed] or rules
    return rules


def link(
    connection: duckdb.DuckDBPyConnection | LinkEngine,
    tables: Sequence[str],
    options: LinkOptions,
    scheme: Scheme = PLAIN,
) -> LinkResult:
    """Score pairs of records in one prepared table (deduplication) or across two (linkage), on a DuckDB
    connection or on another `LinkEngine` (Spark)."""
    started = time.perf_counter()
    # Splink reports untrainable levels and sampling advice as warnings; the run's summary says what was trained.
    logging.getLogger("splink").setLevel(logging.ERROR)
    engine = connection if isinstance(connection, LinkEngine) else DuckDBLinks(connection)
    engine.configure(options.threads, options.memory_limit)
    columns = _columns_with_values(engine, tables, scheme)
    fields = [item for item in scheme.fields if item.column in columns]
    if scheme.name_column not in columns:
        raise ValueError("linkage needs names on every side (given/family or full name)")
    rules = blocking_for(columns, scheme)
    dedupe = len(tables) == 1
    sizes = [int(engine.rows(f"SELECT count(*) FROM {table}")[0][0]) for table in tables]
    settings = SettingsCreator(
        link_type="dedupe_only" if dedupe else "link_only",
        comparisons=[_comparison(item, engine) for item in fields],
        blocking_rules_to_generate_predictions=list[Any](rules),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        probability_two_random_records_match=options.prior_match_probability or _default_prior(sizes, dedupe),
    )
    api = engine.api()
    frames = [api.register(table, table_name=f"{table}_input") for table in tables]
    linker = Linker(frames if not dedupe else frames[0], settings, log_level=None)
    trained = "priors"
    if options.train and min(sizes) >= options.min_training_records:
        trained, model = _train(linker, columns, options, scheme)
        # Rebuilt from the model as saved (a failed EM session leaves the linker half-changed), rounded so that
        # every run of the same data scores the same, to the last bit.
        linker = Linker(frames if not dedupe else frames[0], _reproducible(model), log_level=None)
    candidates = options.threshold if options.candidate_threshold is None else options.candidate_threshold
    lowest = min(candidates, options.threshold)
    prior = linker._settings_obj._probability_two_random_records_match
    prior_weight = math.log2(prior / (1 - prior))
    lowest_weight = math.log2(lowest / (1 - lowest)) if lowest < 1 else math.inf
    if options.candidate_min_evidence is not None:
        lowest_weight = min(lowest_weight, prior_weight + options.candidate_min_evidence)
    scored = linker.inference.predict(threshold_match_weight=lowest_weight)
    second_pass = 0
    if not dedupe and options.second_pass:
        rules_2 = applicable(scheme.second_pass, columns)
        scored, second_pass = _second_pass(
            engine, api, linker, scored, tables, frames, rules_2, lowest_weight, options.threshold
        )
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        scored, threshold_match_probability=options.threshold
    )
    explanation = ", ".join(
        f"'{item.name}': {{'level': {_level_label_sql(item)}, 'weight': round({_weight_sql(item)}, 6)}}"
        for item in fields
    )
    if dedupe:  # one input: Splink keeps no source column; every record comes from that input
        source = engine.rows(f"SELECT any_value(source_dataset) FROM {tables[0]}")[0][0]
        literal = sql_literal(str(source))
        source_l, source_r, cluster_source, on_source = literal, literal, f"{literal} AS source_dataset", "TRUE"
    else:
        source_l, source_r = "p.source_dataset_l", "p.source_dataset_r"
        cluster_source, on_source = "source_dataset", "c.source_dataset = p.source_dataset_l"
    pairs = engine.arrow(f"""
        WITH clusters AS (SELECT {cluster_source}, unique_id, cluster_id FROM {clusters.physical_name})
        SELECT {source_l} AS source_l, p.unique_id_l AS id_l, {source_r} AS source_r,
               p.unique_id_r AS id_r, p.match_probability, p.match_weight, c.cluster_id,
               CAST(to_json({{'prior': round({prior_weight!r}, 6), 'fields': {{{explanation}}}}}) AS VARCHAR)
                   AS explanation
        FROM {scored.physical_name} AS p
        JOIN clusters AS c ON {on_source} AND c.unique_id = p.unique_id_l
        ORDER BY source_l, id_l, source_r, id_r
    """)
    cluster_table = engine.arrow(
        f"SELECT {cluster_source}, unique_id AS record_id, cluster_id FROM {clusters.physical_name} "
        "ORDER BY source_dataset, record_id"
    )
    summary = {
        "records": sizes,
        "comparisons": [item.name for item in fields],
        "blocking_rules": rules,
        "second_pass_records": second_pass,
        "training": trained,
        "prior_match_probability": prior,
        "threshold": options.threshold,
        "candidate_threshold": candidates,
        "candidate_min_evidence": options.candidate_min_evidence,
        "pairs": pairs.num_rows,
        "clusters_with_several_records": int(
            engine.rows(
                f"SELECT count(*) FROM (SELECT cluster_id FROM {clusters.physical_name} GROUP BY 1 HAVING count(*) > 1)"
            )[0][0]
        ),
        "seed": options.seed,
        "seconds": round(time.perf_counter() - started, 3),
        "parameters": _parameters(linker),
    }
    api.delete_tables_created_by_splink_from_db()  # type: ignore[no-untyped-call]
    for scratch in (f"{tables[0]}_rest", f"{tables[0]}_scored_all"):  # the second pass's, if it ran
        engine.drop(scratch)
    return LinkResult(pairs, cluster_table, summary)


def _second_pass(
    engine: LinkEngine,
    api: Any,
    linker: Linker,
    scored: Any,
    tables: Sequence[str],
    frames: list[Any],
    rules: list[str],
    lowest_weight: float,
    threshold: float,
) -> tuple[Any, int]:
    """Score the left records whose best candidate is below the threshold (or that have none) against the right
    under SECOND_PASS rules, with the same model; pairs the first pass scored are not scored twice."""
    left_source = engine.rows(f"SELECT any_value(source_dataset) FROM {tables[0]}")[0][0]
    source = sql_literal(str(left_source))
    rest = f"{tables[0]}_rest"
    engine.materialise(
        rest,
        f"""SELECT * FROM {tables[0]} WHERE unique_id NOT IN (
            SELECT unique_id_l FROM {scored.physical_name}
            WHERE source_dataset_l = {source} AND match_probability >= {threshold!r}
            UNION ALL SELECT unique_id_r FROM {scored.physical_name}
            WHERE source_dataset_r = {source} AND match_probability >= {threshold!r})""",
    )
    remaining = int(engine.rows(f"SELECT count(*) FROM {rest}")[0][0])
    if not remaining or not rules:
        return scored, 0
    model = linker.misc.save_model_to_json()
    model["blocking_rules_to_generate_predictions"] = rules
    second = Linker([api.register(rest, table_name=f"{rest}_input"), frames[1]], model, log_level=None)
    extra = second.inference.predict(threshold_match_weight=lowest_weight)
    both = f"{tables[0]}_scored_all"
    # The first pass's columns, in its order (a column the second pass lacks is null there).
    wanted, present = engine.columns(scored.physical_name), set(engine.columns(extra.physical_name))
    second_columns = ", ".join(f"e.{name}" if name in present else f"NULL AS {name}" for name in wanted)
    engine.materialise(
        both,
        f"""SELECT * FROM {scored.physical_name}
        UNION ALL
        SELECT {second_columns} FROM {extra.physical_name} AS e WHERE NOT EXISTS (
            SELECT 1 FROM {scored.physical_name} AS s
            WHERE s.source_dataset_l = e.source_dataset_l AND s.unique_id_l = e.unique_id_l
              AND s.source_dataset_r = e.source_dataset_r AND s.unique_id_r = e.unique_id_r)""",
    )
    return api.register(both, table_name=f"{both}_input"), remaining


def _default_prior(sizes: list[int], dedupe: bool) -> float:
    """Before training: assume each record has about one match on the other side (or one duplicate in 20)."""
    if dedupe:
        n = max(sizes[0], 2)
        return min(0.5, max(1e-9, (n / 20) / (n * (n - 1) / 2)))
    return min(0.5, max(1e-9, min(sizes) / max(1, sizes[0] * sizes[1])))


def _train(linker: Linker, columns: set[str], options: LinkOptions, scheme: Scheme) -> tuple[str, dict[str, Any]]:
    """Train in steps; returns "em" (all done) or "partial" with the model as it was after the last good step."""
    deterministic = applicable(scheme.deterministic, columns)
    good = linker.misc.save_model_to_json()
    steps: list[Any] = []
    if options.prior_match_probability is None and deterministic:
        steps.append(
            lambda: linker.training.estimate_probability_two_random_records_match(list[Any](deterministic), recall=0.8)
        )
    steps.append(
        lambda: linker.training.estimate_u_using_random_sampling(max_pairs=options.u_sample_pairs, seed=options.seed)
    )
    # m by EM on blocked pairs: blocking on dates of birth trains the names, blocking on names the dates.
    for rule in applicable(scheme.em_blocks, columns)[:2]:
        steps.append(
            lambda rule=rule: linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=options.em_max_pairs
            )
        )
    for step in steps:
        try:
            step()
        except Exception as error:  # Splink raises plain exceptions when a block yields no usable pairs
            logger.warning("linkage training stopped (%s); the model trained so far is kept", error)
            return "partial", good
        good = linker.misc.save_model_to_json()
    return "em", good


def _reproducible(model: dict[str, Any]) -> dict[str, Any]:
    """The trained model with its probabilities rounded to 12 significant digits. Training sums over many pairs
    in parallel, in no fixed order, so two runs on the same data differ in the last bits of m, u and the prior —
    and so of every match weight; rounded, they are the same in every run (and differ from the unrounded by less
    than 1e-11 relative)."""

    def rounded(value: Any) -> Any:
        return float(f"{value:.12g}") if isinstance(value, float) else value

    key = "probability_two_random_records_match"
    if key in model:
        model[key] = rounded(model[key])
    for comparison in model.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            for name in ("m_probability", "u_probability"):
                if name in level:
                    level[name] = rounded(level[name])
    return model


def _weight_sql(item: Field) -> str:
    """A comparison's contribution to the match weight, its term-frequency adjustment included."""
    if item.term_frequency:
        return f"mw_{item.name} + coalesce(mw_tf_adj_{item.name}, 0)"
    return f"mw_{item.name}"


def _level_label_sql(item: Field) -> str:
    # Splink numbers levels from the last (0, "else") up; the null level is -1.
    cases = " ".join(
        f"WHEN {len(item.levels) - 1 - index} THEN '{level.label}'" for index, level in enumerate(item.levels)
    )
    return f"CASE gamma_{item.name} WHEN -1 THEN 'missing' {cases} END"


def _parameters(linker: Linker) -> dict[str, list[dict[str, Any]]]:
    """The trained (or prior) m and u of every level: the model card of a run."""
    out: dict[str, list[dict[str, Any]]] = {}
    for comparison in linker._settings_obj.comparisons:
        out[comparison.output_column_name] = [
            {
                "level": level.label_for_charts,
                "m": level.m_probability,
                "u": level.u_probability,
            }
            for level in comparison.comparison_levels
            if not level.is_null_level
        ]
    return out
