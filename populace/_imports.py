"""Optional dependencies, imported on use with an error naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from populace.errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an error telling which populace extra provides it.

    Raises:
        MissingDependencyError: ``module`` is not installed (an ``ImportError`` too, with
            ``name`` set to ``module``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is needed for this; install it with: pip install 'populace[{extra}]'",
            name=module,
        ) from exc
