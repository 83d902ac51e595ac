"""Modules loaded when first used, so that commands that never need them never pay for them."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class OnFirstUse:
    """Stands in for module `name` and imports it at the first attribute looked up.

    For heavy modules (tomlkit, the pipeline below the command line) that only some runs
    need; type checkers see the real import under TYPE_CHECKING instead."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)
