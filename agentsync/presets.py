"""Shipped manifest presets: the `manifests/*.toml` files, packaged as `agentsync.manifests`."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from agentsync.errors import UsageError


def _folder() -> Traversable:
    """The installed package data, or `manifests/` beside the package in a source checkout."""
    try:
        return resources.files("agentsync.manifests")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "manifests"


def preset_names() -> list[str]:
    """Names of the presets shipped with this installation."""
    return sorted(p.name[: -len(".toml")] for p in _folder().iterdir() if p.name.endswith(".toml"))


def preset_text(name: str) -> str:
    """The text of preset `name`, or a usage error listing the shipped ones."""
    names = preset_names()
    if name not in names:
        raise UsageError(
            f"no preset named '{name}'",
            hint=f"choose one of: {', '.join(names)}",
            subject="init --preset",
        )
    return _folder().joinpath(f"{name}.toml").read_text("utf-8")
