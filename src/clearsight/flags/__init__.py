"""Red-flag indicators: registry, profiles, SQL per indicator, runs and results."""

from importlib import resources


def shipped_profiles() -> list[str]:
    """The names of the profiles shipped with the package (here, not in `profile`, so that listing them in a
    command's help loads no indicator)."""
    folder = resources.files("clearsight.flags").joinpath("profiles")
    return sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml"))
