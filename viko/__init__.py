"""viko: bilingual Vietnamese–Korean document search."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__version__ = "0.1.0"


def lazy_api(package: str, modules: Mapping[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """A stage's module `__getattr__` (PEP 562): each public name, listed under the module of the
    stage that defines it, loads that module on first use, so importing a stage costs nothing."""
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name in home:
            return getattr(importlib.import_module(f"{package}.{home[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
