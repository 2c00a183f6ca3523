"""DuckDB SQL → Spark SQL: sqlglot's Spark dialect, with clearsight's corrections in one place.

clearsight writes its SQL once, in DuckDB's dialect. sqlglot transpiles it; where sqlglot's translation does not
keep DuckDB's meaning for the SQL clearsight writes, the generator below says what to write instead. Each
correction is a difference between the engines, stated as data here rather than as `if spark` branches anywhere
else:

- JSON is text in Spark: the JSON type is STRING, `CAST(x AS JSON)` of JSON text is the text itself (inside a
  struct, a parsed VARIANT, so that it nests), and `to_json` keeps null fields and writes timestamps as DuckDB
  does (`2024-01-31 09:30:00+00`), so evidence reads the same on both engines.
- `epoch(ts)` is fractional seconds in DuckDB; Spark's UNIX_TIMESTAMP truncates to whole seconds.
- `quantile_cont(x, q)` is exact in DuckDB; sqlglot would write an approximate percentile.
- `try_strptime` (NULL when the text does not parse) is Spark's `try_to_timestamp`.
- Decimal literals are doubles in Spark: DuckDB divides decimals into doubles, Spark keeps a fixed scale
  (`1.0 / 3` = 0.333333), which moved quantile fences in the ninth digit.
- `list()` over no rows is NULL in DuckDB and `[]` in Spark; `list(v ORDER BY k)` keeps its order (Spark's
  collect_list has none: the values are sorted by their keys with a comparator).
- `kurtosis` and `skewness` are the bias-corrected sample statistics in DuckDB, the population ones in Spark.
- `size(NULL)` is NULL (as DuckDB's `len`), not Spark's legacy -1 (a session setting in the backend).
- Tables are Parquet files under the Spark warehouse directory (`USING parquet`).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, cast

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark

# DuckDB prints an instant as 2024-01-31 09:30:00+00 (fractions only when present); Spark's closest pattern.
TIMESTAMP_JSON_FORMAT = "yyyy-MM-dd HH:mm:ss.SSSSSSx"


def _json_options() -> exp.Expression:
    return exp.Anonymous(
        this="MAP",
        expressions=[
            exp.Literal.string("ignoreNullFields"),
            exp.Literal.string("false"),
            exp.Literal.string("timestampFormat"),
            exp.Literal.string(TIMESTAMP_JSON_FORMAT),
        ],
    )


_STRFTIME_TO_JAVA = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss", "%%": "%"}


def _java_format(strftime: str) -> str:
    """A strftime format (the codes clearsight uses) as a Java DateTimeFormatter pattern."""
    out, i = [], 0
    while i < len(strftime):
        code = strftime[i : i + 2]
        if code.startswith("%"):
            if code not in _STRFTIME_TO_JAVA:
                raise ValueError(f"no Spark equivalent for the strftime code {code!r} in {strftime!r}")
            out.append(_STRFTIME_TO_JAVA[code])
            i += 2
        else:
            out.append(f"'{strftime[i]}'" if strftime[i].isalpha() else strftime[i])
            i += 1
    return "".join(out)


def _ordered_list(node: exp.ArrayAgg) -> exp.Expression:
    """DuckDB's list(v ORDER BY k1 [DESC], ...) for Spark: collect (k1, ..., v) structs, sort them with a
    comparator that follows each key's direction (NULLs last, as DuckDB), keep v."""
    order = node.this
    keys: list[exp.Ordered] = list(order.expressions)
    value = order.this
    distinct = isinstance(value, exp.Distinct)  # list(DISTINCT v ORDER BY v): sorted, then each value once
    if distinct:
        value = value.expressions[0]
    fields = [exp.alias_(key.this.copy(), f"k{i}") for i, key in enumerate(keys)]
    fields.append(exp.alias_(value.copy(), "v"))
    collected = exp.Anonymous(this="COLLECT_LIST", expressions=[exp.Anonymous(this="STRUCT", expressions=fields)])
    comparison: exp.Expression = exp.Literal.number(0)
    for i, key in reversed(list(enumerate(keys))):
        left, right = exp.column(f"k{i}", table="_l"), exp.column(f"k{i}", table="_r")
        before, after = (
            (exp.Literal.number(1), exp.Literal.number(-1))
            if key.args.get("desc")
            else (exp.Literal.number(-1), exp.Literal.number(1))
        )
        comparison = exp.Case(
            ifs=[
                exp.If(
                    this=exp.and_(exp.Is(this=left, expression=exp.Null()), exp.Is(this=right, expression=exp.Null())),
                    true=comparison,
                ),
                exp.If(this=exp.Is(this=left, expression=exp.Null()), true=exp.Literal.number(1)),
                exp.If(this=exp.Is(this=right, expression=exp.Null()), true=exp.Literal.number(-1)),
                exp.If(this=exp.LT(this=left.copy(), expression=right.copy()), true=before),
                exp.If(this=exp.GT(this=left.copy(), expression=right.copy()), true=after),
            ],
            default=comparison.copy(),
        )
    comparator = exp.Lambda(this=comparison, expressions=[exp.to_identifier("_l"), exp.to_identifier("_r")])
    ordered = exp.Anonymous(this="ARRAY_SORT", expressions=[collected, comparator])
    pick = exp.Lambda(this=exp.column("v", table="_s"), expressions=[exp.to_identifier("_s")])
    values = exp.Anonymous(this="TRANSFORM", expressions=[ordered, pick])
    # array_distinct keeps each value's first place, so the order stays.
    return exp.Anonymous(this="ARRAY_DISTINCT", expressions=[values]) if distinct else values


def _calendar(value: exp.Expression, years: bool) -> exp.Expression:
    """A date's year, or its months since year 0 (year · 12 + month)."""
    year = exp.Anonymous(this="YEAR", expressions=[value.copy()])
    if years:
        return year
    month = exp.Anonymous(this="MONTH", expressions=[value.copy()])
    return exp.Paren(this=exp.Add(this=exp.Mul(this=year, expression=exp.Literal.number(12)), expression=month))


def _spark_expression(sql: str) -> exp.Expression:
    return cast(exp.Expression, sqlglot.parse_one(sql, read="spark"))


def _sample_moment(node: exp.Kurtosis | exp.Skewness) -> exp.Expression:
    """DuckDB's kurtosis and skewness are the bias-corrected sample statistics (NULL below 4 and 3 values);
    Spark's are the population ones: g2 = m4 / m2² − 3 and g1 = m3 / m2^1.5. The sample statistics follow:
    G2 = (n − 1) · ((n + 1) · (g2 + 3) − 3 · (n − 1)) / ((n − 2) · (n − 3)) and G1 = g1 · √(n · (n − 1)) / (n − 2)."""
    if isinstance(node.parent, exp.Filter):
        raise ValueError(f"no Spark translation for a filtered {node.sql('duckdb')}")
    kurtosis = isinstance(node, exp.Kurtosis)
    n = f"CAST(COUNT({node.this.sql('spark')}) AS DOUBLE)"
    population = f"{'KURTOSIS' if kurtosis else 'SKEWNESS'}({node.this.sql('spark')})"
    sample = (
        f"({n} - 1) * (({n} + 1) * ({population} + 3) - 3 * ({n} - 1)) / (({n} - 2) * ({n} - 3))"
        if kurtosis
        else f"{population} * SQRT({n} * ({n} - 1)) / ({n} - 2)"
    )
    return _spark_expression(f"(CASE WHEN {n} > {3 if kurtosis else 2} THEN {sample} END)")


def _correct_values(node: exp.Expression) -> exp.Expression:
    """First pass: casts to JSON and epochs."""
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.JSON):
        # clearsight casts JSON *text* to JSON. Inside a struct that to_json will serialise, the text must become
        # a nested value (a VARIANT), not an escaped string; anywhere else JSON text stays as it is.
        if isinstance(node.parent, exp.PropertyEQ):
            return exp.Anonymous(this="PARSE_JSON", expressions=[node.this])
        text: exp.Expression = node.this
        return text
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        # DuckDB's quantile_cont(x, q) is exact and interpolates linearly; so does Spark's percentile(x, q).
        return exp.Anonymous(this="PERCENTILE", expressions=[node.this, node.expression])
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "try_strptime" and len(node.expressions) == 2:
        # NULL for text that does not parse, as in DuckDB; the format through sqlglot's own strptime translation.
        spark_format = exp.Literal.string(_java_format(node.expressions[1].name))
        return exp.Anonymous(this="TRY_TO_TIMESTAMP", expressions=[node.expressions[0], spark_format])
    if isinstance(node, exp.Literal) and not node.is_string and any(c in node.this for c in ".eE"):
        # DuckDB divides decimals into doubles; Spark keeps decimals with a fixed scale (1.0 / 3 = 0.333333).
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        listed = _ordered_list(node)
        size = exp.Anonymous(this="SIZE", expressions=[listed.copy()])
        return exp.If(this=exp.EQ(this=size, expression=exp.Literal.number(0)), true=exp.Null(), false=listed)
    is_list = isinstance(node, exp.ArrayAgg) and not isinstance(node.parent, exp.Filter)
    if is_list or (isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg)):
        # DuckDB's list() over no rows is NULL; Spark's collect_list is [].
        aggregate = node.copy()
        size = exp.Anonymous(this="SIZE", expressions=[aggregate.copy()])
        return exp.If(this=exp.EQ(this=size, expression=exp.Literal.number(0)), true=exp.Null(), false=aggregate)
    if (
        isinstance(node, exp.DateAdd)
        and isinstance(node.expression, exp.Anonymous)
        and str(node.expression.this).lower() == "to_years"
    ):
        # DuckDB's date_add(date, to_years(n)): n calendar years later (29 February → 28 February) as a timestamp;
        # Spark's add_months answers the date.
        months = exp.Mul(this=exp.Paren(this=node.expression.expressions[0].copy()), expression=exp.Literal.number(12))
        later = exp.Anonymous(this="ADD_MONTHS", expressions=[node.this.copy(), months])
        return exp.Cast(this=later, to=exp.DataType.build("TIMESTAMP"))
    if isinstance(node, exp.DateDiff) and node.unit is not None and node.unit.name.upper() in ("YEAR", "MONTH"):
        # DuckDB's date_diff('year'|'month', a, b) counts the boundaries crossed (31 Dec → 1 Jan is a year);
        # Spark's counts whole years or months.
        whole_years = node.unit.name.upper() == "YEAR"
        return exp.Paren(
            this=exp.Sub(this=_calendar(node.this, whole_years), expression=_calendar(node.expression, whole_years))
        )
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice):
        # DuckDB's list[a:b] (1-based, both ends included) is Spark's slice(list, a, b - a + 1).
        bounds = node.expressions[0]
        if bounds.expression is None:
            raise ValueError(f"no Spark translation for an open-ended slice: {node.sql('duckdb')}")
        start = bounds.this.copy() if bounds.this is not None else exp.Literal.number(1)
        end = bounds.expression.copy()
        one = exp.Literal.number(1)
        length = (
            exp.Literal.number(int(end.this) - int(start.this) + 1)
            if isinstance(start, exp.Literal) and isinstance(end, exp.Literal)
            else exp.Paren(this=exp.Add(this=exp.Sub(this=end, expression=start.copy()), expression=one))
        )
        listed = node.this.transform(_correct_values)  # the slice replaces this node: correct what it holds here
        return exp.Anonymous(this="SLICE", expressions=[listed, start, length])
    if isinstance(node, (exp.Kurtosis, exp.Skewness)):
        return _sample_moment(node)
    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(this="UNIX_MICROS", expressions=[node.this])
        million = exp.Cast(this=exp.Literal.number("1000000"), to=exp.DataType.build("DOUBLE"))
        return exp.Paren(this=exp.Div(this=micros, expression=million))
    return node


def _correct_json(node: exp.Expression) -> exp.Expression:
    """Second pass: to_json keeps nulls and DuckDB's timestamp format (no fraction when it is zero)."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_json" and len(node.expressions) == 1:
        text = exp.Anonymous(this="TO_JSON", expressions=[node.expressions[0], _json_options()])
        return exp.Anonymous(
            this="REGEXP_REPLACE",
            expressions=[text, exp.Literal.string(r"(\d\d:\d\d:\d\d)\.000000\+"), exp.Literal.string("$1+")],
        )
    return node


class ClearsightSpark(Spark):
    class Generator(Spark.Generator):  # type: ignore[misc,valid-type]
        TYPE_MAPPING: ClassVar[dict[Any, str]] = {
            **Spark.Generator.TYPE_MAPPING,
            exp.DataType.Type.JSON: "STRING",
        }
        # Spark has no Jaro-Winkler of its own: the `jaro_winkler` function of the similarity jar that Splink ships
        # (SparkBackend registers it in every session). Prefix scale 0.1 over at most four characters as DuckDB's,
        # but it counts half transpositions exactly where DuckDB rounds them down (docs/spark.md, Parity).
        TRANSFORMS: ClassVar[dict[Any, Any]] = {
            **Spark.Generator.TRANSFORMS,
            exp.JarowinklerSimilarity: lambda self, e: self.func("jaro_winkler", e.this, e.expression),
        }


# Between the statements one DuckDB statement becomes (CREATE OR REPLACE → DROP, then CREATE).
STATEMENT_SEPARATOR = ";\n-- clearsight: next statement\n"


def _created(statement: exp.Create, tables_root: str, partitioned_by: tuple[str, ...]) -> list[exp.Expression]:
    """A CREATE TABLE as Spark's Parquet table. DuckDB's temporary tables (which clearsight inserts into) become
    tables of the session's database, dropped by the code that made them; the others live at `tables_root/NAME`.
    Spark replaces only its v2 tables: CREATE OR REPLACE becomes DROP, then CREATE."""
    properties = statement.args.get("properties") or exp.Properties(expressions=[])
    temporary = any(isinstance(p, exp.TemporaryProperty) for p in properties.expressions)
    properties.set("expressions", [p for p in properties.expressions if not isinstance(p, exp.TemporaryProperty)])
    properties.append("expressions", exp.FileFormatProperty(this=exp.var("PARQUET")))
    if partitioned_by:
        columns = exp.Schema(expressions=[exp.to_identifier(column) for column in partitioned_by])
        properties.append("expressions", exp.PartitionedByProperty(this=columns))
    name = statement.this.this.name if isinstance(statement.this, exp.Schema) else statement.this.name
    if tables_root and not temporary:
        location = exp.Literal.string(f"{tables_root}/{name}")
        properties.append("expressions", exp.LocationProperty(this=location))
    statement.set("properties", properties)
    if not statement.args.get("replace"):
        return [statement]
    statement.set("replace", False)
    return [_spark_expression(f"DROP TABLE IF EXISTS {name}"), statement]


@functools.lru_cache(maxsize=4096)
def to_spark(sql: str, tables_root: str = "", partitioned_by: tuple[str, ...] = ()) -> str:
    """Translate DuckDB statements to Spark SQL (cached: indicators run the same SQL again and again); several
    statements are joined by `STATEMENT_SEPARATOR`.

    A CREATE TABLE becomes a Parquet table; with `tables_root`, at `tables_root/NAME`, so that a new session
    finds the tables an earlier one wrote (Spark's default catalog lives only as long as the session); with
    `partitioned_by`, its files are split into a folder per value of those columns (Spark then lists them last)."""
    parsed = sqlglot.parse(sql, read="duckdb")
    statements = [cast(exp.Expression, statement) for statement in parsed if statement is not None]
    out = []
    for statement in statements:
        spark_statements: list[exp.Expression] = [statement]
        if isinstance(statement, exp.Create) and statement.kind == "TABLE":
            spark_statements = _created(statement, tables_root, partitioned_by)
        for each in spark_statements:
            out.append(each.transform(_correct_values).transform(_correct_json).sql(dialect=ClearsightSpark))
    return STATEMENT_SEPARATOR.join(out)
