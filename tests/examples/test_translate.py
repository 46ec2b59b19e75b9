"""examples/translate.py: its data, its BLEU scorer, and a QUICK population run end to end."""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import pytest

import populace as pop

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
translate = importlib.import_module("translate")


def test_the_language_pair_follows_its_rule_and_splits_are_disjoint() -> None:
    corpus = translate.corpus()
    assert {name: len(pairs) for name, pairs in corpus.items()} == translate.SIZES
    sources = [tuple(source) for pairs in corpus.values() for source, _ in pairs]
    assert len(set(sources)) == len(sources)
    assert all(4 <= len(source) <= 10 for source in sources)
    mapping = {"a": "X", "b": "Y", "c": "Z", "e": "W"}
    # reversed: e c b a; pairs swapped: c e a b; a marker after the words of vowels
    assert translate.translate_rule(list("abce"), mapping) == ["Z", "W", "#", "X", "#", "Y"]
    assert translate.corpus() is corpus  # cached: built once per process


def test_bleu_scores_known_translations() -> None:
    references = [target for _, target in translate.corpus()["dev"]]
    assert translate.bleu(references, references) == pytest.approx(100.0)
    assert translate.bleu([[] for _ in references], references) == 0.0
    assert translate.bleu([["#"] * 4 for _ in references], references) < 1.0
    half = [target[: len(target) // 2] for target in references]
    assert 5.0 < translate.bleu(half, references) < 60.0


def test_an_untrained_translator_decodes_the_dev_set_in_one_batch() -> None:
    sentences = translate.translations(translate.Translator(), "dev")
    assert len(sentences) == translate.SIZES["dev"]
    assert 0.0 <= translate.evaluate(translate.Translator(), "dev") < 5.0


@pytest.mark.slow
def test_quick_run_trains_every_member_and_scores_bleu() -> None:
    settings = translate.QUICK
    result = pop.run(
        translate.train,
        translate.SPACE,
        **settings,
        storage="memory",
        name="translate-quick",
        workers=1,
        seed=0,
        exploit=translate.exploit(),
        direction=translate.DIRECTION,
        progress=False,
    )
    members = result.members()
    assert len(members) == settings["population"]
    assert all(m.step == settings["budget"] for m in members)
    assert all(m.score is not None and 0.0 <= m.score <= 100.0 for m in members)
    assert result.best is not None and result.best.score > 0.0
    test = translate.test_score(result)
    assert math.isfinite(test) and 0.0 <= test <= 100.0
