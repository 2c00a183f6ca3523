"""The indicator registry: every module in clearsight.flags.indicators that defines INDICATOR."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from clearsight.flags.base import Indicator


@cache
def indicators() -> tuple[Indicator, ...]:
    """All registered indicators, by code."""
    package = importlib.import_module("clearsight.flags.indicators")
    found = []
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        item = getattr(module, "INDICATOR", None)
        if isinstance(item, Indicator):
            if module_info.name != item.code.lower():
                raise ValueError(f"module {module_info.name} defines {item.code}: name them alike")
            found.append(item)
    return tuple(sorted(found, key=lambda item: item.code))


def indicator(code: str) -> Indicator:
    for item in indicators():
        if item.code == code.upper():
            return item
    raise KeyError(f"no indicator {code!r}; known: {', '.join(item.code for item in indicators())}")
