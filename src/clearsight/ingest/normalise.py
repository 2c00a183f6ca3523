"""Normalise published values (amounts, dates, currencies, key case) and record every change as an issue."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from clearsight.ingest.currencies import CURRENCY_CODES

MAX_VALUE_CHARS = 200


def truncate(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


@dataclass
class IssueLog:
    """Data-quality issues found while normalising one process: (path, issue, original, normalised)."""

    issues: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    def add(self, path: str, issue: str, original: Any, normalised: Any = None) -> None:
        self.issues.append((path, issue, truncate(original), None if normalised is None else str(normalised)))


# --- amounts ---------------------------------------------------------------------------------------

_CURRENCY_NOISE = re.compile(r"[^\d,.\-+eE ' \u00a0\u202f]")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _parse_amount_text(text: str) -> float | None:
    cleaned = _CURRENCY_NOISE.sub("", text).strip()
    for space in (" ", "'", "\u00a0", "\u202f"):
        cleaned = cleaned.replace(space, "")
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        # Whichever separator comes last is the decimal separator: 1,000.50 and 1.000,50.
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        head, _, tail = cleaned.rpartition(",")
        # 1,000 / 12,345,678 are thousands; 12,5 is a decimal comma.
        cleaned = cleaned.replace(",", "") if cleaned.count(",") > 1 or len(tail) == 3 else f"{head}.{tail}"
    elif cleaned.count(".") > 1:
        cleaned = cleaned.replace(".", "")  # 1.000.000 (dots as thousands)
    if not _PLAIN_NUMBER.match(cleaned):
        return None
    return float(cleaned)


def amount(value: Any, path: str, log: IssueLog) -> float | None:
    """A monetary amount as a float; strings like '1,000.50' are parsed and logged."""
    if value is None:
        return None
    kind = type(value)
    if kind is float or kind is int:
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any double (a streamed document keeps big integers exact)
            number = math.inf
        if math.isfinite(number):
            return number
        log.add(path, "amount_not_finite", value)
        return None
    if kind is str:
        if not value.strip():
            log.add(path, "empty_value", value)
            return None
        parsed = _parse_amount_text(value)
        if parsed is None:
            log.add(path, "amount_invalid", value)
        elif not math.isfinite(parsed):  # "1e999"
            log.add(path, "amount_not_finite", value)
            return None
        else:
            log.add(path, "amount_string", value, parsed)
        return parsed
    log.add(path, "amount_invalid", value)
    return None


def number(value: Any, path: str, log: IssueLog) -> float | None:
    """Any number (quantities): same rules as amounts."""
    return amount(value, path, log)


INT64_MAX = 2**63 - 1


def count(value: Any, path: str, log: IssueLog) -> int | None:
    """A count (numberOfTenderers): a whole number from 0 to 2^63 − 1, the range of the BIGINT column. Others —
    negative, fractional, beyond the range (99999999999999999999, 1e300) — are dropped with an issue, never
    clamped, and never stop the run."""
    if value is None:
        return None
    parsed: float | int
    if type(value) is int:
        parsed = value
    else:
        as_number = amount(value, path, log)
        if as_number is None:
            return None
        if not as_number.is_integer():
            log.add(path, "integer_invalid", value)
            return None
        parsed = as_number
    if parsed < 0:
        log.add(path, "count_negative", value)
        return None
    if parsed > INT64_MAX:
        log.add(path, "integer_out_of_range", value)
        return None
    return int(parsed)


def currency(value: Any, path: str, log: IssueLog) -> str | None:
    """An ISO 4217 code; other case is fixed and logged, unknown codes are kept and logged."""
    if value is None:
        return None
    if type(value) is str and value in CURRENCY_CODES:
        return value
    if not isinstance(value, str):
        log.add(path, "currency_invalid", value)
        return None
    if not value.strip():
        log.add(path, "empty_value", value)
        return None
    fixed = value.strip().upper()
    if fixed in CURRENCY_CODES:
        log.add(path, "currency_case", value, fixed)
        return fixed
    log.add(path, "unknown_currency", value, value)
    return value


# --- dates -----------------------------------------------------------------------------------------

_OTHER_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y%m%d",
    "%d %B %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%a, %d %b %Y %H:%M:%S %z",
)
_EPOCH_MIN = 0  # 1970
_EPOCH_MAX = 4_102_444_800  # 2100, in seconds


def _as_utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def parse_date(value: Any) -> tuple[str | None, bool]:
    """Parse a date; return (ISO 8601 text DuckDB accepts, whether the input was non-ISO)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return _as_utc_text(datetime.fromisoformat(text)), text != value
        except ValueError:
            pass
        for pattern in _OTHER_DATE_FORMATS:
            try:
                return _as_utc_text(datetime.strptime(text, pattern)), True
            except ValueError:
                continue
        return None, True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > _EPOCH_MAX else value  # milliseconds are common
        if _EPOCH_MIN <= seconds <= _EPOCH_MAX:
            return datetime.fromtimestamp(seconds, tz=UTC).isoformat(), True
    if isinstance(value, date):
        return _as_utc_text(datetime(value.year, value.month, value.day)), True
    return None, True


def timestamp(value: Any, path: str, log: IssueLog) -> str | None:
    """A date as ISO 8601 text; other formats are converted and logged; dates without offset are UTC."""
    if value is None:
        return None
    if type(value) is str and not value.strip():
        log.add(path, "empty_value", value)
        return None
    parsed, converted = parse_date(value)
    if parsed is None:
        log.add(path, "date_invalid", value)
    elif converted:
        log.add(path, "date_format", value, parsed)
    return parsed


# --- text and identifiers ----------------------------------------------------------------------------


def text(value: Any, path: str, log: IssueLog) -> str | None:
    """A string field; numbers are accepted as text (ids often are numbers) without an issue."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        # Multilingual objects or nested values where a string belongs: keep the JSON, log it.
        log.add(path, "text_not_string", value)
        return None
    log.add(path, "text_not_string", value, str(value))
    return str(value)


def identifier(value: Any) -> str | None:
    """An id as text (ids are often published as numbers)."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def text_list(value: Any, path: str, log: IssueLog) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        log.add(path, "string_not_array", value, f"[{value}]")
        return [value]
    if not isinstance(value, list):
        log.add(path, "array_invalid", value)
        return None
    out = [identifier(item) for item in value if item is not None and not isinstance(item, (dict, list))]
    if len(out) != len(value):
        log.add(path, "array_item_invalid", value)
    return out  # type: ignore[return-value]


def fix_key_case(obj: dict[str, Any], known: frozenset[str], path: str, log: IssueLog) -> dict[str, Any]:
    """Map keys that differ from known OCDS field names only by case onto those names.

    When both spellings are present the correctly-cased one wins and the clash is logged.
    """
    unknown = obj.keys() - known
    if not unknown:
        return obj
    fixes = {}
    for key in unknown:
        lowered = key.lower()
        target = _LOWER_KNOWN.get(lowered)
        if target is not None and target in known and target != key:
            fixes[key] = target
    if not fixes:
        return obj
    fixed = dict(obj)
    for key, target in fixes.items():
        value = fixed.pop(key)
        if target in obj:
            log.add(f"{path}/{key}", "duplicate_key_case", value, None)
        else:
            fixed[target] = value
            log.add(f"{path}/{key}", "key_case", key, target)
    return fixed


_LOWER_KNOWN: dict[str, str] = {}


def register_known_keys(keys: frozenset[str]) -> frozenset[str]:
    for key in keys:
        _LOWER_KNOWN.setdefault(key.lower(), key)
    return keys
