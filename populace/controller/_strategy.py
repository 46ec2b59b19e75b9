"""Strategy objects that store their arguments and round-trip through JSON.

The whole controller configuration is stored with the population, so a resumed run uses exactly
the strategies it started with (scikit-learn's estimator contract: constructor arguments are kept
verbatim as attributes of the same name).
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from populace.errors import ConfigurationError

__all__ = ["Strategy"]

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class Strategy:
    """Base of exploit and explore strategies: parameters in, JSON out, JSON back in.

    A subclass takes only JSON-able keyword arguments and stores each one as an attribute of the
    same name. Subclasses register themselves by class name so ``Strategy.from_dict`` can rebuild
    them; a tuple argument comes back from JSON as a list, so constructors must accept both.
    """

    _registry: ClassVar[dict[str, type[Strategy]]] = {}
    kind: ClassVar[str] = "strategy"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not inspect.isabstract(cls) and not cls.__name__.startswith("Base"):
            Strategy._registry[cls.__name__] = cls

    def get_params(self) -> dict[str, Any]:
        """Return the constructor arguments, read back from the attributes of the same name."""
        parameters = inspect.signature(type(self).__init__).parameters.values()
        return {
            p.name: getattr(self, p.name)
            for p in parameters
            if p.kind in _NAMED and p.name != "self"
        }

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"type": ClassName, **params}`` with tuples turned into lists."""
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        return {"type": type(self).__name__, **params}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Strategy:
        """Rebuild a strategy from :meth:`to_dict` output, checking it is of this kind."""
        params = dict(data)
        name = params.pop("type", None)
        strategy_cls = Strategy._registry.get(str(name))
        what = "strategy" if cls.kind == "strategy" else f"{cls.kind} strategy"
        if strategy_cls is None or not issubclass(strategy_cls, cls):
            known = sorted(n for n, c in Strategy._registry.items() if issubclass(c, cls))
            raise ConfigurationError(f"unknown {what} {name!r}; known: {known}")
        try:
            return strategy_cls(**params)
        except TypeError as exc:
            raise ConfigurationError(f"cannot build {what} {name} from {params!r}: {exc}") from None

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
