"""Mapping files: which column of an agency's extract holds which canonical field.

```yaml
kind: payroll
columns:            # canonical field: the extract's column
  record_id: PAYMENT_NO
  national_id: NIN
  family_name: SURNAME
  given_name: FORENAMES
  date_of_birth: DOB
  bank_account: IBAN
  employer: DEPARTMENT
  pay_period: PERIOD
  amount: NET_PAY
date_format: "%d/%m/%Y"   # strptime format of every date column; default ISO 8601 (%Y-%m-%d)
keep: [GRADE]             # further columns kept as attributes
encoding: latin-1         # of a CSV file; default UTF-8 (a UTF-16 file is recognised by its byte-order mark)
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from clearsight.model import REGISTRY_RECORDS

# Canonical fields a mapping may fill (the registry_records columns that come from the extract).
FIELDS = tuple(
    column.name
    for column in REGISTRY_RECORDS.columns
    if column.name not in ("dataset", "kind", "version", "record_hash", "canonical", "attributes")
    and not column.name.startswith(("source_", "run_"))
)
DATE_FIELDS = ("date_of_birth", "date_of_death")
NUMBER_FIELDS = ("amount", "income")

# What each kind of registry must give. A name is family_name or full_name.
KINDS: dict[str, tuple[str, ...]] = {
    "civil": ("record_id", "name", "date_of_birth"),
    "payroll": ("record_id", "name", "amount"),
    "beneficiaries": ("record_id", "name", "programme"),
    "voters": ("record_id", "name"),
    "companies": ("record_id", "company_id"),
    "people": ("record_id", "name"),  # any list of people (clearsight link dedupe/pair)
}


class MappingError(ValueError):
    pass


def known_encoding(encoding: str) -> str:
    """The codec's canonical name; ValueError naming examples when Python knows no such encoding."""
    import codecs

    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252, utf-16)") from None


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    columns: dict[str, str]
    date_format: str = "%Y-%m-%d"
    keep: tuple[str, ...] = ()
    encoding: str = "utf-8"

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        return known_encoding(encoding)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
        return kind

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(columns) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown canonical field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
        return columns

    @model_validator(mode="after")
    def _required_fields(self) -> Mapping:
        missing = []
        for required in KINDS[self.kind]:
            if required == "name":
                if "family_name" not in self.columns and "full_name" not in self.columns:
                    missing.append("family_name or full_name")
            elif required not in self.columns:
                missing.append(required)
        if missing:
            raise ValueError(f"a {self.kind} mapping must map {', '.join(missing)}")
        return self


def read_yaml_mapping(path: Path, shape: str) -> dict[str, Any]:
    """A YAML file's top-level mapping; MappingError naming the file when it cannot be read or is not one (`shape`
    says what it should hold)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise MappingError(f"{path}: cannot be read: {error}") from error
    if not isinstance(data, dict):
        raise MappingError(f"{path}: {shape}")
    return data


def validation_problems(path: Path, error: ValidationError, unknown_key: str | None = None) -> MappingError:
    """One MappingError naming the file and each field at fault (`unknown_key` replaces pydantic's message for a
    key the mapping does not know)."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'mapping'}: "
        + (unknown_key if unknown_key and item["type"] == "extra_forbidden" else item["msg"])
        for item in error.errors()
    )
    return MappingError(f"{path}: {problems}")


def load_mapping(path: Path, kind: str | None = None) -> Mapping:
    """Read and validate a mapping file; errors name the file and what is wrong."""
    data = read_yaml_mapping(path, "a mapping file is a YAML mapping with kind and columns")
    if kind is None:
        data.setdefault("kind", "people")
    else:
        if data.get("kind", kind) != kind:
            raise MappingError(f"{path}: maps a {data.get('kind')} registry, not {kind}")
        data.setdefault("kind", kind)
    try:
        return Mapping(**data)
    except ValidationError as error:
        raise validation_problems(path, error) from error
