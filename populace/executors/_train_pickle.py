"""How ``train`` travels to a spawned worker process: by name where the worker can import it,
by value where it cannot.

A spawned worker is a new interpreter, so ``train`` reaches it as pickled bytes, written by
``cloudpickle``. A function of an importable module is written as its module and name, as plain
pickle writes it: the worker imports that module, so module-level state, relative imports and
the module's own setup behave as they do on any import. A function a worker cannot import by
name travels by value, as Ray ships functions: one defined in ``__main__`` (a notebook cell, an
interactive session, the script that was run), a lambda, a nested function. Its code goes with
the globals it reads and the variables it captures (helpers, constants and classes defined
beside it, each copied once per worker); the modules it uses are imported by name.

The bytes load with plain :func:`pickle.loads` (cloudpickle is a core dependency, installed
where the worker runs). What cannot be pickled (a lock, an open file or connection) is named in
a :class:`~populace.errors.ConfigurationError` with the fix that fits where ``train`` lives.
"""

from __future__ import annotations

import pickle
import sys
import types
from collections.abc import Iterator
from typing import Any

import cloudpickle

from populace.errors import ConfigurationError
from populace.runtime import TrainFn

__all__ = ["pickle_train", "unpickle_train"]


def pickle_train(train: TrainFn) -> bytes:
    """``train`` as bytes a spawned worker loads with :func:`unpickle_train`.

    Raises:
        ConfigurationError: ``train``, or an object it uses, cannot be pickled; the message
            names the object and how to fix it.
    """
    try:
        return cloudpickle.dumps(train)
    except Exception as exc:
        raise ConfigurationError(_unpicklable_message(train, exc)) from None


def unpickle_train(payload: bytes) -> TrainFn:
    """The ``train`` that :func:`pickle_train` wrote, in a worker process.

    Raises:
        ConfigurationError: it cannot be loaded here (most often a module it uses is not
            importable in a new interpreter).
    """
    try:
        train: TrainFn = pickle.loads(payload)
    except Exception as exc:
        raise ConfigurationError(
            f"a worker process cannot load train ({type(exc).__name__}: {exc}): every module it "
            "uses must be importable in a new Python process (installed, or on sys.path)"
        ) from None
    return train


def _unpicklable_message(train: object, error: Exception) -> str:
    """Why ``train`` cannot travel by value, naming the object that stops it where one does."""
    reason = f"{type(error).__name__}: {error}"
    if not isinstance(train, types.FunctionType):
        return (
            f"train {train!r} cannot be pickled for worker processes ({reason}): it must not hold "
            "locks, open files, connections or other state of this process"
        )
    found = _unpicklable_use(train, set())
    what = "train" if found is None else _describe(*found)
    it = "it" if found is None else f"`{found[0][-1]}`"
    if train.__module__ == "__main__":
        place, home = _main_kind()
        why = f"train is defined in {place}, so worker processes receive it by value"
        move = f"or define train in a .py module that {home} imports"
    else:
        why = f"train {train.__qualname__} is a lambda or a nested function, so worker processes "
        why += "receive it by value"
        move = "or make train a function at module level"
    return (
        f"{why}, with the objects it uses, and {what} cannot be pickled ({reason}). Create {it} "
        f"inside train, so that each worker makes its own, {move}: worker processes import such "
        "a train by name, and its module's objects with it"
    )


def _main_kind() -> tuple[str, str]:
    """Where ``__main__``'s code comes from, as the person who wrote it calls it: a place, and
    what would import a module."""
    if getattr(sys.modules["__main__"], "__file__", None) is not None:
        return "the script that was run", "the script"
    if "ipykernel" in sys.modules:
        return "this notebook", "the notebook"
    return "this interactive session", "the session"


def _unpicklable_use(
    function: types.FunctionType, seen: set[types.FunctionType]
) -> tuple[list[str], object] | None:
    """The names leading to the first object ``function`` uses that cannot be pickled by
    itself, through helper functions that travel by value, and that object; None if every
    object it uses can be pickled alone."""
    seen.add(function)
    for name, value in _uses(function):
        try:
            cloudpickle.dumps(value)
        except Exception:
            if isinstance(value, types.FunctionType) and value not in seen:
                inner = _unpicklable_use(value, seen)
                if inner is not None:
                    return [name, *inner[0]], inner[1]
            return [name], value
    return None


def _uses(function: types.FunctionType) -> Iterator[tuple[str, Any]]:
    """The variables ``function`` captures and the globals its code (nested code included)
    reads, by name, as cloudpickle finds them."""
    cells = function.__closure__ or ()
    for name, cell in zip(function.__code__.co_freevars, cells, strict=True):
        try:
            yield name, cell.cell_contents
        except ValueError:  # a cell not filled yet
            continue
    names: dict[str, None] = {}
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names.update(dict.fromkeys(code.co_names))
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    for name in names:
        if name in function.__globals__:
            yield name, function.__globals__[name]


def _describe(path: list[str], value: object) -> str:
    """``path``'s last name with the type of ``value``, and the helpers that lead to it."""
    kind = type(value)
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    text = f"`{path[-1]}` (a {module}{kind.__qualname__}"
    if len(path) > 1:
        text += ", used by " + " via ".join(f"`{name}`" for name in reversed(path[:-1]))
    return text + ")"
