"""What an indicator is: a code, typed parameters, SQL over the canonical tables, and its documentation."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from clearsight.engine.base import sql_literal as sql_literal  # re-exported: indicators write literals with it

SUBJECT_TYPES = (
    "process",
    "buyer",
    "procuring_entity",
    "tenderer",
    # registry checks
    "payroll_record",
    "beneficiary",
    "voter",
    "civil_person",
    "bank_account",
    "company_role",
)
STATUSES = ("flagged", "clear", "insufficient_data", "not_applicable")
RESULT_COLUMNS = ("subject_type", "subject_id", "ocid", "status", "value", "threshold", "evidence")


class Params(BaseModel):
    """Base of every indicator's parameters: typed, with defaults; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


@dataclass(frozen=True)
class Indicator:
    """One red flag: metadata, parameters and SQL (file `<code lower>.sql` beside its module)."""

    code: str
    title: str
    summary: str  # one sentence: what is flagged
    subject_types: tuple[str, ...]
    source: str  # where the indicator comes from (cite)
    params: type[Params] = NoParams
    # Statistical indicators judge a subject only when at least this many values are available.
    minimum_sample: int | None = None
    # Reads the supplier network (network_groups), which `clearsight network build` makes before `flags run`.
    needs_network: bool = False
    # Reads these registry linkages (registry_links), which `clearsight link registries` makes; a registry check
    # answers insufficient_data until they exist.
    needs_links: tuple[str, ...] = ()
    snippets: Any = None  # optional: params -> {name: SQL} for placeholders literals cannot express
    sql_path: Path = field(default=Path())
    # Plain-language sentence per subject type for a flagged row; fields: value, threshold, subject_id and the
    # evidence keys (formatted with str.format; missing fields read "unknown").
    explanations: dict[str, str] = field(default_factory=dict)

    CODE: ClassVar[re.Pattern[str]] = re.compile(r"^[A-Z]\d{3}$")

    def __post_init__(self) -> None:
        if not self.CODE.match(self.code):
            raise ValueError(f"indicator code {self.code!r} must be a letter and three digits")
        unknown = set(self.subject_types) - set(SUBJECT_TYPES)
        if unknown:
            raise ValueError(f"{self.code}: unknown subject types {sorted(unknown)}")

    def explain(self, subject_type: str, subject_id: str, value: Any, threshold: Any, evidence: dict[str, Any]) -> str:
        """The sentence explaining one flagged row."""
        template = self.explanations.get(subject_type)
        if template is None:
            return f"{self.title}: value {value}, threshold {threshold}."
        fields = _Fields({**evidence, "value": value, "threshold": threshold, "subject_id": subject_id})
        try:
            return template.format_map(fields)
        except (ValueError, TypeError):  # a field of an unexpected type for its format spec
            return f"{self.title}: value {value}, threshold {threshold}."

    @property
    def sql_template(self) -> str:
        return self.sql_path.read_text(encoding="utf-8")

    def render(self, params: Params, context: dict[str, str]) -> str:
        """The indicator's SELECT, with parameters and run context substituted as SQL."""
        values = dict(context)
        for name, value in params.model_dump().items():
            if not isinstance(value, dict):  # mappings reach SQL through the indicator's snippets
                values[name] = sql_literal(value)
        if self.snippets is not None:
            values.update(self.snippets(params))
        try:
            return Template(self.sql_template).substitute(values)
        except KeyError as error:
            raise ValueError(
                f"{self.code}: the SQL uses ${{{error.args[0]}}}, which is neither a parameter "
                "nor part of the run context"
            ) from error


def quantile_sql(relation: str, column: str, probability: float) -> str:
    """Scalar SQL for a sample quantile of `column` in `relation`, Hyndman & Fan type 8.

    Type 8 (median-unbiased) is what Cardinal's statistics library computes, so fences match it:
    h = (n + 1/3) p + 1/3, then linear interpolation between the order statistics around h, clamped to
    [x(1), x(n)].
    """
    p = repr(float(probability))
    # CTE names unique per quantile: engines that lift nested CTEs to the top (Spark, through sqlglot) need them.
    k = hashlib.sha1(f"{relation}|{column}|{p}".encode()).hexdigest()[:8]
    return f"""(
        WITH sample_{k} AS (
            SELECT {column} AS v, row_number() OVER (ORDER BY {column}) AS r, count(*) OVER () AS n
            FROM {relation} WHERE {column} IS NOT NULL
        ), position_{k} AS (
            SELECT least(greatest((any_value(n) + 1.0 / 3) * {p} + 1.0 / 3, 1), any_value(n)) AS h FROM sample_{k}
        )
        SELECT lower.v + (position_{k}.h - floor(position_{k}.h)) * (coalesce(upper.v, lower.v) - lower.v)
        FROM position_{k}
        JOIN sample_{k} AS lower ON lower.r = floor(position_{k}.h)
        LEFT JOIN sample_{k} AS upper ON upper.r = floor(position_{k}.h) + 1
    )"""


class _Fields(dict):  # type: ignore[type-arg]
    """Format fields; a missing or null one reads "unknown" (and ignores numeric format specs)."""

    def __missing__(self, key: str) -> _Unknown:
        return _Unknown()

    def __getitem__(self, key: str) -> Any:
        value = super().get(key)
        return _Unknown() if value is None else value


class _Unknown:
    def __format__(self, spec: str) -> str:
        return "unknown"
