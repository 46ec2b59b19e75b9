"""The checkpoint handle training code receives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from populace.checkpoints import Checkpoint, LocalCheckpointStore
from populace.errors import CheckpointError


def test_load_returns_the_stored_object(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    ref = store.put({"step": 40, "weights": [1.0, 2.0]})
    assert Checkpoint(ref, member=3, step=40, store=store).load() == {
        "step": 40,
        "weights": [1.0, 2.0],
    }


def test_a_missing_checkpoint_names_member_and_step(tmp_path: Path) -> None:
    ref = "sha256:" + "ab" * 32
    checkpoint = Checkpoint(ref, member=3, step=40, store=LocalCheckpointStore(tmp_path))
    with pytest.raises(CheckpointError) as info:
        checkpoint.load()
    assert f"checkpoint {ref} of member 3 at step 40 is missing" in str(info.value)


def test_repr_equality_and_immutability(tmp_path: Path) -> None:
    ref = "sha256:ab12cd34" + "0" * 56
    first = Checkpoint(ref, member=3, step=40, store=LocalCheckpointStore(tmp_path / "a"))
    second = Checkpoint(ref, member=3, step=40, store=LocalCheckpointStore(tmp_path / "b"))
    assert repr(first) == "Checkpoint(member=3, step=40, ref='sha256:ab12cd34…')"
    assert first == second
    assert hash(first) == hash(second)
    assert first != dataclasses.replace(first, step=41)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.step = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("ref", "member", "step", "message"),
    [
        ("sha256:abc", 0, 0, "malformed checkpoint ref"),
        ("sha256:" + "0" * 64, -1, 0, "member must be an int >= 0, got -1"),
        ("sha256:" + "0" * 64, 0, 1.5, "step must be an int >= 0, got 1.5"),
        ("sha256:" + "0" * 64, True, 0, "member must be an int >= 0, got True"),
    ],
)
def test_invalid_handles_are_refused(
    tmp_path: Path, ref: str, member: int, step: int, message: str
) -> None:
    with pytest.raises(CheckpointError, match=message):
        Checkpoint(ref, member=member, step=step, store=LocalCheckpointStore(tmp_path))
