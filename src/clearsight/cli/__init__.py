"""The `clearsight` command (Typer): thin wrappers over the library rooms."""

from clearsight.cli.main import app


def main() -> None:
    app()


__all__ = ["app", "main"]
