"""Run settings from flags and a TOML or YAML file; a flag wins over the file."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import click

from populace.controller import BaseExploit, BaseExplore, Strategy
from populace.errors import ConfigurationError
from populace.space import SearchSpace

__all__ = ["merge", "read_config", "run_arguments"]

REQUIRED = ("space", "budget", "interval")


def _parse_toml(text: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ConfigurationError(
                "reading TOML needs Python 3.11 or tomli: pip install tomli"
            ) from None
    return tomllib.loads(text)


def _parse_yaml(text: str) -> Any:
    try:
        yaml = importlib.import_module("yaml")
    except ModuleNotFoundError:
        raise ConfigurationError("reading YAML needs PyYAML: pip install pyyaml") from None
    return yaml.safe_load(text)


def read_config(path: Path, known: Collection[str]) -> dict[str, Any]:
    """Read the settings in ``path``: YAML for ``.yaml``/``.yml``, TOML otherwise.

    Args:
        path: The config file.
        known: The names of the settings it may hold (the flags' names).

    Raises:
        ConfigurationError: the file does not parse, or holds a setting that does not exist.
    """
    parse = _parse_yaml if path.suffix in (".yaml", ".yml") else _parse_toml
    try:
        data = parse(path.read_text())
    except ConfigurationError:
        raise
    except Exception as exc:  # tomllib and yaml each raise their own error type
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"config file {path} must hold a table of settings")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigurationError(
            f"unknown settings {unknown} in config file {path}; known: {list(known)}"
        )
    return data


def merge(file: Mapping[str, Any], flags: Mapping[str, Any]) -> dict[str, Any]:
    """The file's settings overridden by every flag that was given."""
    return {**file, **{key: value for key, value in flags.items() if value is not None}}


def _mapping(key: str, value: object) -> dict[str, Any]:
    """A table from a config file, or a JSON object from a flag."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ConfigurationError(f"{key} is not valid JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{key} must be a table or JSON object, got {value!r}")
    return dict(value)


def _strategy(kind: type[Strategy], key: str, value: object) -> Strategy | None:
    """A strategy from a class name (``TournamentExploit``), a JSON object or a table."""
    if value is None:
        return None
    if isinstance(value, str) and not value.lstrip().startswith("{"):
        value = {"type": value}
    return kind.from_dict(_mapping(key, value))


def run_arguments(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Turn merged settings into ``pop.run`` keyword arguments; unset ones keep its defaults.

    Raises:
        click.UsageError: the space, budget or interval is missing.
        ConfigurationError: a space or strategy does not parse.
    """
    missing = [key for key in REQUIRED if settings.get(key) is None]
    if missing:
        flags = ", ".join(f"--{key}" for key in missing)
        raise click.UsageError(f"missing {flags} (give them as flags or in the --config file)")
    arguments = {
        key: value
        for key, value in settings.items()
        if value is not None and key not in ("space", "exploit", "explore", "quiet")
    }
    arguments["space"] = SearchSpace.from_dict(_mapping("space", settings["space"]))
    arguments["exploit"] = _strategy(BaseExploit, "exploit", settings.get("exploit"))
    arguments["explore"] = _strategy(BaseExplore, "explore", settings.get("explore"))
    return arguments
