"""The lineage tree: each generation's span, each exploit's link, one model's path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from populace.analysis._views._view import PopulationView, check_member
from populace.storage import SegmentRecord

__all__ = ["Link", "LineageInfo", "Span", "lineage_info", "model_path", "span_of"]


class Span(NamedTuple):
    """Steps ``start`` to ``end`` trained by ``member`` in ``generation``; ``score``: its last.

    ``alive``: the generation is in the ancestry of a member's current model.
    """

    member: int
    generation: int
    start: int
    end: int
    params: Mapping[str, Any]
    score: float | None
    alive: bool


class Link(NamedTuple):
    """An exploit: ``member`` started ``generation`` at ``step`` from ``parent``'s checkpoint."""

    parent: int
    member: int
    generation: int
    step: int
    alive: bool
    highlighted: bool


class LineageInfo(NamedTuple):
    """The lineage tree: a row per member, its spans and links, and one model's path through it.

    ``path`` holds the stretches ``member``'s model was trained in (each up to the next fork).
    """

    name: str
    rows: list[int]
    labels: list[str]
    spans: list[Span]
    links: list[Link]
    member: int | None
    score: float | None
    path: list[Span]


def lineage_info(view: PopulationView, member: int | None = None) -> LineageInfo:
    """Who trained when and who copied whom, with ``member``'s (default: the best) ancestry.

    Raises:
        ConfigurationError: ``member`` is not in the population.
    """
    member = check_member(view, member)
    alive = {(s.member, s.generation) for m in view.population for s in view.chain(m)}
    spans = [span_of(view, s, (s.member, s.generation) in alive, view.end(s)) for s in view.trained]
    path = model_path(view, member)
    on_path = {(s.member, s.generation) for s in path}
    links = []
    for s in view.trained:
        if s.parent_member is not None and s.parent_member != s.member:
            key = (s.member, s.generation)
            links.append(
                Link(
                    s.parent_member,
                    s.member,
                    s.generation,
                    s.start_step,
                    key in alive,
                    key in on_path,
                )
            )
    rows = sorted({s.member for s in view.trained})
    score = path[-1].score if path else None
    labels = [view.label(m) for m in rows]
    return LineageInfo(view.name, rows, labels, spans, links, member, score, path)


def model_path(view: PopulationView, member: int | None) -> list[Span]:
    """The stretches ``member``'s model was trained in, oldest first, each up to the next fork."""
    chain = view.chain(member) if member is not None else []
    ends = [s.start_step for s in chain[1:]] + [view.end(s) for s in chain[-1:]]
    return [span_of(view, s, True, end) for s, end in zip(chain, ends, strict=True)]


def span_of(view: PopulationView, s: SegmentRecord, alive: bool, end: int) -> Span:
    """Segment ``s`` as a span up to ``end``, with its generation's last score."""
    rows = view.grouped.get((s.member, s.generation))
    score = rows[-1].score if rows else None
    return Span(s.member, s.generation, s.start_step, end, s.params, score, alive)
