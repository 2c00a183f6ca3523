"""Canonical registry fields → the comparable columns the linkage model reads.

Names are transliterated to Latin letters (Cyrillic, Greek, Chinese characters to pinyin syllables, accents
dropped), lower-cased, split into tokens and sorted, so that "IVANOV Ivan", "Иван Иванов" and "ivan ivanov"
compare equal; `name_canon` also replaces diminutives by the full given name ("Bill" → "william"). Names are
normalised once per distinct spelling (there are far fewer spellings than records). Everything else is SQL.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources

import duckdb
import pyarrow as pa
from anyascii import anyascii

# The canonical fields linkage uses, all optional except record_id and some name.
LINK_FIELDS = (
    "given_name",
    "family_name",
    "full_name",
    "date_of_birth",
    "sex",
    "national_id",
    "address",
    "phone",
    "email",
)
# The prepared columns, each compared by the model when both sides have values for it.
# What normalise_name returns, in its order: the name columns.
NAME_COLUMNS = ("name_sorted", "name_canon", "name_letters", "given", "family", "given_canon", "family_canon")
PREPARED = (*NAME_COLUMNS, "dob", "nid", "address", "phone", "email", "sex")

_NOT_LETTER = re.compile(r"[^a-z]+")
# Spellings that transliteration systems and clerks write differently, folded to one (applied in order).
_FOLDS = (
    ("cz", "c"), ("sz", "s"), ("kh", "h"), ("zh", "z"), ("ch", "c"), ("sh", "s"), ("ts", "c"), ("tz", "c"),
    ("ph", "f"), ("th", "t"),
    ("ya", "ia"), ("ja", "ia"), ("yu", "iu"), ("ju", "iu"), ("ye", "e"), ("je", "e"), ("yo", "io"),
    ("y", "i"), ("j", "i"), ("w", "v"), ("x", "ks"), ("q", "k"),
)  # fmt: skip
# Particles that many unrelated family names share ("van", "de la"): left out of the folded name, so that sharing
# one is not taken for sharing a name.
PARTICLES = frozenset({"van", "von", "der", "den", "de", "la", "le", "del", "della", "da", "di", "du", "bin", "ibn"})
_DOUBLE = re.compile(r"(.)\1+")


def fold(token: str) -> str:
    """A token with transliteration variants folded: 'tatyana', 'tatjana', 'tatiana' → 'tatiana'."""
    for spelling, folded in _FOLDS:
        token = token.replace(spelling, folded)
    return _DOUBLE.sub(r"\1", token)


@cache
def nicknames() -> dict[str, str]:
    text = resources.files("clearsight.linkage").joinpath("nicknames.csv").read_text(encoding="utf-8")
    pairs = (line.split(",") for line in text.splitlines() if line and not line.startswith("#"))
    return {nickname.strip(): full.strip() for nickname, full in pairs}


def _is_cjk(character: str) -> bool:
    return "\u3400" <= character <= "\u9fff" or "\uf900" <= character <= "\ufaff"


def tokens(name: str | None) -> list[str]:
    """A name as lower-case Latin tokens.

    'Müller-Lüdenscheidt' gives ['muller', 'ludenscheidt'] and '张伟' gives ['zhang', 'wei'].
    """
    return list(_tokens(name)) if name else []


# A registry has far fewer distinct name parts and tokens than records: each is transliterated and folded once.
@lru_cache(maxsize=1 << 18)
def _tokens(name: str) -> tuple[str, ...]:
    # Chinese characters are one syllable each: transliterate them apart so that 张伟 gives "zhang wei".
    spaced = "".join(f" {character} " if _is_cjk(character) else character for character in name)
    # Apostrophes join (O'Brien, and the soft sign that transliteration writes as ' in Ol'ga).
    text = anyascii(unicodedata.normalize("NFKC", spaced)).replace("'", "").lower()
    return tuple(token for token in _NOT_LETTER.split(text) if token)


@lru_cache(maxsize=1 << 18)
def _canonical(token: str) -> str:
    """A token with its nickname resolved and its spelling folded."""
    return fold(nicknames().get(token, token))


def normalise_name(given: str | None, family: str | None, full: str | None) -> tuple[str | None, ...]:
    """(name_sorted, name_canon, name_letters, given, family, given_canon, family_canon) for one person's name.

    name_canon: nicknames resolved and transliteration variants folded; name_letters: the name's letters in
    alphabetical order (the same for "JunFang Zhao", "Zhao Jun Fang" and 赵军芳); given_canon and family_canon:
    each part folded and without spaces ("Lei Xin" and "LeiXin" agree), for comparing the parts crosswise.
    """
    given_tokens, family_tokens = _tokens(given) if given else (), _tokens(family) if family else ()
    every = given_tokens + family_tokens if (given_tokens or family_tokens) else (_tokens(full) if full else ())
    if not every:
        return (None, None, None, None, None, None, None)
    canonical = sorted(_canonical(token) for token in every if token not in PARTICLES) or sorted(
        _canonical(token) for token in every
    )
    return (
        " ".join(sorted(every)),
        " ".join(canonical),
        "".join(sorted("".join(every))),
        " ".join(given_tokens) or None,
        " ".join(family_tokens) or None,
        "".join(_canonical(token) for token in given_tokens) or None,
        "".join(_canonical(token) for token in family_tokens) or None,
    )


def prepare(connection: duckdb.DuckDBPyConnection, source: str, target: str, source_dataset: str | None) -> int:
    """Create table `target` (unique_id, [source_dataset], the PREPARED columns) from relation `source`.

    `source` has record_id and any of LINK_FIELDS. Returns the number of records.
    """
    present = {row[0] for row in connection.execute(f"DESCRIBE {source}").fetchall()}

    def column(name: str) -> str:
        return f"CAST({name} AS VARCHAR)" if name in present else "CAST(NULL AS VARCHAR)"

    name_columns = f"{column('given_name')} AS g, {column('family_name')} AS f, {column('full_name')} AS n"
    spellings = connection.execute(f"SELECT DISTINCT {name_columns} FROM {source}").fetchall()
    normalised = [normalise_name(g, f, n) for g, f, n in spellings]
    lookup = pa.table(
        {
            "g": [row[0] for row in spellings],
            "f": [row[1] for row in spellings],
            "n": [row[2] for row in spellings],
            **{name: [row[i] for row in normalised] for i, name in enumerate(NAME_COLUMNS)},
        },
        schema=pa.schema([(name, pa.string()) for name in ("g", "f", "n", *NAME_COLUMNS)]),
    )
    connection.register("_link_names", lookup)
    quoted = (source_dataset or "").replace("'", "''")
    dataset = f"'{quoted}' AS source_dataset, " if source_dataset is not None else ""
    dob = (
        "strftime(TRY_CAST(date_of_birth AS DATE), '%Y-%m-%d')"
        if "date_of_birth" in present
        else "CAST(NULL AS VARCHAR)"
    )
    connection.execute(f"""
        CREATE OR REPLACE TABLE {target} AS
        SELECT CAST(s.record_id AS VARCHAR) AS unique_id, {dataset}
               l.name_sorted, l.name_canon, l.name_letters, l.given, l.family, l.given_canon, l.family_canon,
               coalesce({dob}, nullif(trim({column("date_of_birth")}), '')) AS dob,
               nullif(upper(regexp_replace({column("national_id")}, '[^0-9A-Za-z]', '', 'g')), '') AS nid,
               nullif(trim(regexp_replace(lower(strip_accents({column("address")})), '[^a-z0-9]+', ' ', 'g')), '')
                   AS address,
               nullif(right(regexp_replace({column("phone")}, '[^0-9]', '', 'g'), 9), '') AS phone,
               nullif(lower(trim({column("email")})), '') AS email,
               nullif(lower(left(trim({column("sex")}), 1)), '') AS sex
        FROM (SELECT *, {name_columns} FROM {source}) AS s
        LEFT JOIN _link_names AS l ON l.g IS NOT DISTINCT FROM s.g AND l.f IS NOT DISTINCT FROM s.f
            AND l.n IS NOT DISTINCT FROM s.n
    """)
    connection.unregister("_link_names")
    return int(connection.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0])
