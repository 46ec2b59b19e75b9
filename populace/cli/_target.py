"""TARGET: the training function, named ``module:function`` or ``path/to/file.py:function``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from populace.errors import PopulaceError

__all__ = ["TargetError", "TargetType"]

FORMS = "module:function or path/to/file.py:function"


class TargetNotFound(PopulaceError, LookupError):
    """The module, file or function a TARGET names does not exist (a command-line usage error:
    :class:`TargetType` shows it with exit status 2)."""


class TargetError(PopulaceError):
    """The module or file a TARGET names exists but fails to import (a SyntaxError, a missing
    package, any error its top level raises)."""


def _failed_import(where: str, exc: Exception) -> TargetError:
    """One line naming the target, where the error was raised and the error itself."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    at = ""
    if frames and not isinstance(exc, SyntaxError):  # a SyntaxError names its file and line
        at = f" ({frames[-1].filename}, line {frames[-1].lineno})"
    return TargetError(
        f"cannot import {where}{at}: {type(exc).__name__}: {exc} "
        "(populace --debug shows the traceback)"
    )


def _import_module(name: str) -> ModuleType:
    # A console script does not put the working directory on sys.path; `python -m` does.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
            raise  # a module the target itself imports is missing: a TargetError says which
        raise TargetNotFound(f"no module named {name!r}") from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise TargetNotFound(f"no file {str(path)!r}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise TargetNotFound(f"{str(path)!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    # Run it like a script: modules next to it can be imported, and it is in sys.modules.
    sys.path.insert(0, str(path.resolve().parent))
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def load_target(target: str) -> Callable[..., Any]:
    """Import the callable ``target`` names.

    Raises:
        TargetNotFound: naming the missing module, file or function.
        TargetError: the module or file fails to import; its error is the cause.
    """
    where, _, attribute = target.rpartition(":")
    if not where or not attribute:
        raise TargetNotFound(f"{target!r} is not {FORMS}")
    is_path = where.endswith(".py") or "/" in where or os.sep in where
    try:
        found: Any = _import_file(Path(where)) if is_path else _import_module(where)
    except TargetNotFound:
        raise
    except Exception as exc:
        raise _failed_import(where, exc) from exc
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise TargetNotFound(f"{where!r} has no function {attribute!r}")
        found = getattr(found, part)
    if not callable(found):
        raise TargetNotFound(f"{target!r} is not a function")
    return found


class TargetType(click.ParamType):
    """A click parameter that imports the training function, or fails with exit status 2 (no
    such function) or a TargetError (it does not import)."""

    name = "TARGET"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return load_target(str(value))
        except TargetNotFound as exc:
            self.fail(str(exc), param, ctx)
