"""Privacy-preserving linkage: identifiers → keyed, hardened Bloom-filter encodings; matching on encodings only.

Each agency runs `clearsight link encode` with a secret key shared among the agencies (never with the linkage
unit). For every record and field the normalised value (see prepare.py: transliterated, nicknames resolved,
spellings folded) is cut into tokens (letter bigrams, plus date parts), each token is hashed with HMAC-SHA-256
under the key and a per-field salt, and k positions derived from the digest (double hashing) are set in a bit
array (a field-level Bloom filter, as in Schnell, Bachteler & Reiher 2009; cryptographic long-term keys, CLKs,
are the record-level variant). The filter is then hardened:

- balanced (default; Schnell & Borgs 2016): the filter is concatenated with its complement and the bits are
  permuted with a key-derived permutation, so every encoding has the same number of ones and the bit positions of
  frequent bigrams cannot be told from their weight;
- xor-fold (optional): the two halves are XORed (Schnell, Borgs & Encarnação 2016), which destroys the
  one-to-one relation between set bits and tokens at some cost in accuracy.

Blocking uses keyed, truncated hashes of blocking keys (date of birth, date with day and month in either order,
birth year with the family name, the given name or the whole name; never a name alone): they reveal only which
records share a key.

Matching (`link pair` on two encoded files) compares filters by their Dice coefficient, in levels, within the same
Fellegi–Sunter model as plain linkage. The threat model and known attacks are in docs/linkage.md.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from clearsight.linkage.model import Field, Level, Scheme

ENCODING_VERSION = "clearsight-bf-1"
HARDENINGS = ("balanced", "xor-fold", "none")


@dataclass(frozen=True)
class FieldEncoding:
    column: str  # encoded column
    source: str  # prepared column it encodes
    bits: int
    hashes: int


ENCODED_FIELDS = (
    FieldEncoding("name_bf", "name_canon", 1024, 20),
    FieldEncoding("dob_bf", "dob", 512, 12),
    FieldEncoding("nid_bf", "nid", 512, 12),
    FieldEncoding("address_bf", "address", 1024, 15),
)
# Blocking keys: name → SQL over the prepared columns giving the key's clear text (hashed before it leaves).
BLOCKING_KEYS = {
    "bk_nid": "nid",
    "bk_dob": "dob",
    "bk_dob_unordered": "left(dob, 4) || least(substr(dob, 6, 2), substr(dob, 9, 2)) "
    "|| greatest(substr(dob, 6, 2), substr(dob, 9, 2))",
    "bk_dob_initial": "dob || '|' || left(name_sorted, 1)",
    "bk_year_family": "left(dob, 4) || '|' || family",
    "bk_year_given": "left(dob, 4) || '|' || given",
    "bk_year_name": "left(dob, 4) || '|' || name_canon",
    "bk_year_letters": "left(dob, 4) || '|' || name_letters",
}
# No key is a name alone: the frequency of a hashed name would betray common names (see docs/linkage.md).


class EncodingError(ValueError):
    pass


def new_key() -> str:
    """A fresh 256-bit secret key, hex."""
    return secrets.token_hex(32)


def read_key(path: Path) -> bytes:
    text = path.read_text(encoding="utf-8").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError as error:
        raise EncodingError(f"{path}: a key file holds 64 hexadecimal characters (clearsight link keygen)") from error
    if len(key) < 16:
        raise EncodingError(f"{path}: the key is {len(key)} bytes; at least 16 are needed")
    return key


def fingerprint(key: bytes) -> str:
    """Tells whether two agencies used the same key, without revealing it."""
    return hmac.new(key, b"clearsight key fingerprint", hashlib.sha256).hexdigest()[:16]


def _tokens(source: str, value: str) -> Iterable[str]:
    if source == "dob":
        year, month, day = (value[:4], value[5:7], value[8:10]) if len(value) >= 10 else (value, "", "")
        digits = value.replace("-", "")
        yield from (digits[i : i + 2] for i in range(len(digits) - 1))
        yield f"y{year}"
        yield f"md{min(month, day)}{max(month, day)}"  # the same for day and month swapped
        return
    for word in value.split():
        padded = f"_{word}_"
        yield from (padded[i : i + 2] for i in range(len(padded) - 1))


class Encoder:
    def __init__(self, key: bytes, hardening: str = "balanced") -> None:
        if hardening not in HARDENINGS:
            raise EncodingError(f"unknown hardening {hardening!r}; known: {', '.join(HARDENINGS)}")
        self.key = key
        self.hardening = hardening
        self._cache: dict[tuple[str, str], bytes] = {}
        self._permutations: dict[int, np.ndarray] = {}

    def _permutation(self, size: int) -> np.ndarray:
        if size not in self._permutations:
            seed = int.from_bytes(hmac.new(self.key, f"permutation {size}".encode(), hashlib.sha256).digest(), "big")
            order = list(range(size))
            random.Random(seed).shuffle(order)
            self._permutations[size] = np.array(order)
        return self._permutations[size]

    def encode(self, spec: FieldEncoding, value: str | None) -> bytes | None:
        if value is None or value == "":
            return None
        cached = self._cache.get((spec.column, value))
        if cached is not None:
            return cached
        bits = np.zeros(spec.bits, dtype=bool)
        salt = spec.column.encode()
        for token in set(_tokens(spec.source, value)):
            digest = hmac.new(self.key, salt + b"\x1f" + token.encode(), hashlib.sha256).digest()
            first = int.from_bytes(digest[:8], "big")
            step = int.from_bytes(digest[8:16], "big") | 1
            bits[[(first + i * step) % spec.bits for i in range(spec.hashes)]] = True
        if self.hardening == "balanced":
            bits = np.concatenate([bits, ~bits])[self._permutation(2 * spec.bits)]
        elif self.hardening == "xor-fold":
            half = spec.bits // 2
            bits = bits[:half] ^ bits[half:]
        encoded = np.packbits(bits).tobytes()
        if len(self._cache) < 2_000_000:
            self._cache[(spec.column, value)] = encoded
        return encoded

    def blocking_key(self, name: str, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return hmac.new(self.key, f"{name}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:16]


def encode_prepared(connection: duckdb.DuckDBPyConnection, prepared: str, key: bytes, hardening: str) -> pa.Table:
    """Encodings of a prepared table (see prepare.prepare): record_id, the *_bf filters and the bk_* keys."""
    encoder = Encoder(key, hardening)
    sources = sorted({spec.source for spec in ENCODED_FIELDS})
    keys = ", ".join(f"{sql} AS {name}" for name, sql in BLOCKING_KEYS.items())
    rows = connection.execute(f"SELECT unique_id, {', '.join(sources)}, {keys} FROM {prepared}").fetchall()
    names = ["unique_id", *sources, *BLOCKING_KEYS]
    columns: dict[str, list[object]] = {"record_id": [row[0] for row in rows]}
    for spec in ENCODED_FIELDS:
        index = names.index(spec.source)
        columns[spec.column] = [encoder.encode(spec, row[index]) for row in rows]
    for offset, name in enumerate(BLOCKING_KEYS, start=1 + len(sources)):
        columns[name] = [encoder.blocking_key(name, row[offset]) for row in rows]
    schema = pa.schema(
        [("record_id", pa.string())]
        + [(spec.column, pa.binary()) for spec in ENCODED_FIELDS]
        + [(name, pa.string()) for name in BLOCKING_KEYS],
        metadata={
            b"clearsight.encoding": ENCODING_VERSION.encode(),
            b"clearsight.hardening": hardening.encode(),
            b"clearsight.key_fingerprint": fingerprint(key).encode(),
            b"clearsight.fields": ",".join(
                f"{spec.column}:{spec.bits}:{spec.hashes}" for spec in ENCODED_FIELDS
            ).encode(),
        },
    )
    return pa.table(columns, schema=schema)


def _dice(column: str, threshold: float) -> str:
    return (
        f"2.0 * bit_count({column}_l & {column}_r) / nullif(bit_count({column}_l) + bit_count({column}_r), 0) "
        f">= {threshold}"
    )


def _dice_field(
    name: str, column: str, exact: tuple[float, float], levels: tuple[tuple[float, float, float], ...]
) -> Field:
    return Field(
        name,
        column,
        (
            Level("same encoding", f"{column}_l = {column}_r", *exact),
            *(Level(f"Dice ≥ {threshold}", _dice(column, threshold), m, u) for threshold, m, u in levels),
            Level(
                "different",
                "ELSE",
                1 - exact[0] - sum(m for _, m, _ in levels),
                1 - exact[1] - sum(u for *_, u in levels),
            ),
        ),
    )


def encoded_scheme(hardening: str) -> Scheme:

    def scale(dice: float) -> float:
        # Balanced filters share about half their bits even for unrelated values: their Dice levels sit higher.
        return 0.5 + dice / 2 if hardening == "balanced" else dice

    fields = (
        _dice_field("name", "name_bf", (0.7, 0.0005), ((scale(0.9), 0.15, 0.003), (scale(0.75), 0.1, 0.03))),
        _dice_field("date_of_birth", "dob_bf", (0.85, 0.0001), ((scale(0.8), 0.1, 0.002), (scale(0.6), 0.03, 0.02))),
        _dice_field("national_id", "nid_bf", (0.9, 0.00001), ((scale(0.8), 0.07, 0.0002),)),
        _dice_field("address", "address_bf", (0.6, 0.001), ((scale(0.85), 0.25, 0.01),)),
    )
    return Scheme(
        name=f"encoded ({hardening})",
        fields=fields,
        columns=tuple(spec.column for spec in ENCODED_FIELDS) + tuple(BLOCKING_KEYS),
        blocking=(
            (("bk_nid",), "l.bk_nid = r.bk_nid"),
            (("bk_dob_initial",), "l.bk_dob_initial = r.bk_dob_initial"),
            (("bk_year_name",), "l.bk_year_name = r.bk_year_name"),
        ),
        second_pass=(
            (("bk_dob",), "l.bk_dob = r.bk_dob"),
            (("bk_dob_unordered",), "l.bk_dob_unordered = r.bk_dob_unordered"),
            (("bk_year_family",), "l.bk_year_family = r.bk_year_family"),
            (("bk_year_given",), "l.bk_year_given = r.bk_year_given"),
            (("bk_year_letters",), "l.bk_year_letters = r.bk_year_letters"),
        ),
        deterministic=(
            (("bk_nid", "bk_dob"), "l.bk_nid = r.bk_nid AND l.bk_dob = r.bk_dob"),
            (("bk_year_name", "bk_dob"), "l.bk_year_name = r.bk_year_name AND l.bk_dob = r.bk_dob"),
        ),
        em_blocks=(
            (("bk_dob",), "l.bk_dob = r.bk_dob"),
            (("bk_year_name",), "l.bk_year_name = r.bk_year_name"),
        ),
        name_column="name_bf",
    )


def load_encoded(connection: duckdb.DuckDBPyConnection, table: pa.Table, target: str, source: str) -> None:
    """An encoded file as a linkage input: filters as bit strings, keys as they are."""
    connection.register("_encoded", table)
    filters = ", ".join(f"CAST({spec.column} AS BIT) AS {spec.column}" for spec in ENCODED_FIELDS)
    keys = ", ".join(BLOCKING_KEYS)
    quoted = source.replace("'", "''")
    connection.execute(
        f"CREATE OR REPLACE TABLE {target} AS SELECT record_id AS unique_id, '{quoted}' AS source_dataset, "
        f"{filters}, {keys} FROM _encoded"
    )
    connection.unregister("_encoded")


def encoding_metadata(table: pa.Table, path: Path) -> dict[str, str]:
    metadata = {key.decode(): value.decode() for key, value in (table.schema.metadata or {}).items()}
    if metadata.get("clearsight.encoding") != ENCODING_VERSION:
        raise EncodingError(
            f"{path}: not a clearsight encoding ({ENCODING_VERSION}); make it with clearsight link encode"
        )
    return metadata
