"""The `clearsight` command (Typer): thin wrappers over the library rooms."""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        # Answered before the command tree is built (Typer reads every command's signature to build it).
        from clearsight import __version__

        sys.stdout.write(f"clearsight {__version__}\n")
        return
    from clearsight.cli.main import app

    app()


def __getattr__(name: str) -> Any:
    if name == "app":
        from clearsight.cli.main import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
