"""Jurisdiction profiles: thresholds, method lists, exclusions, currency and legal basis, in validated TOML."""

from __future__ import annotations

import tomllib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from clearsight.flags import shipped_profiles
from clearsight.flags.base import Params
from clearsight.flags.registry import indicator, indicators


class ProfileError(ValueError):
    """A profile file is invalid; the message names the file and the offending key."""


class IndicatorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict)
    legal_basis: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class Profile(BaseModel):
    """Settings for a run of the indicators. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    # The main currency: amounts in other currencies are converted with `fx` when a rate is given,
    # otherwise left out (and the process is reported as insufficient_data where that matters).
    # When unset, the most common currency of the dataset's bids is used.
    currency: str | None = None
    fx: dict[str, float] = Field(default_factory=dict)  # units of the main currency per unit of the key
    exclude_procurement_method_details: list[str] = Field(default_factory=list)
    no_price_comparison_procurement_methods: list[str] = Field(default_factory=list)
    price_comparison_procurement_methods: list[str] = Field(default_factory=list)
    exclude_cancelled: bool = True
    # Weights of indicators in the weighted risk score (default 1 each); the CRI weighs all equally.
    weights: dict[str, float] = Field(default_factory=dict)
    indicators: dict[str, IndicatorSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_indicators(self) -> Profile:
        known = {item.code for item in indicators()}
        unknown = sorted((set(self.indicators) | set(self.weights)) - known)
        if unknown:
            raise ValueError(f"unknown indicator codes {unknown}; known: {sorted(known)}")
        for code, settings in self.indicators.items():
            try:
                indicator(code).params(**settings.params)
            except ValidationError as error:
                raise ValueError(f"[indicators.{code}.params]: {error}") from error
        return self

    def params_for(self, code: str) -> Params:
        settings = self.indicators.get(code)
        return indicator(code).params(**(settings.params if settings else {}))

    def enabled(self, code: str) -> bool:
        settings = self.indicators.get(code)
        return settings.enabled if settings else True


def load_profile(source: str | Path | None = None) -> Profile:
    """A shipped profile by name (`default`, `cardinal`) or a TOML file; None is `default`."""
    name = str(source) if source is not None else "default"
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ProfileError(f"{path}: {error.strerror}") from error
        label = str(path)
    else:
        shipped = resources.files("clearsight.flags").joinpath("profiles", f"{name}.toml")
        if not shipped.is_file():
            raise ProfileError(f"no profile {name!r}: give a .toml file or one of {shipped_profiles()}")
        text = shipped.read_text(encoding="utf-8")
        label = f"{name} (shipped)"
    try:
        return Profile(**tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{label}: not valid TOML: {error}") from error
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors())
        raise ProfileError(f"{label}: {problems}") from error
