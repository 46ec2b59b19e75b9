"""``Directory``: a folder reported as a checkpoint, stored whole, file by file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from populace.errors import CheckpointError

__all__ = ["Directory"]


@dataclass(frozen=True, init=False)
class Directory:
    """A folder to store as a checkpoint: ``member.report(step, score, checkpoint=Directory(p))``.

    For training code that saves a folder of files (``save_pretrained``, a ``model.safetensors``
    beside its config, a tokenizer) rather than a tree of tensors. Each regular file is stored as
    its own content-addressed blob, then a manifest naming every file's path, ref, size and
    executable bit becomes the checkpoint (see :mod:`populace.checkpoints._manifest`); a file
    already stored (unchanged since the last report, or the same in another member) costs
    nothing. ``member.checkpoint.load_directory(dest)`` writes the folder back.

    What is stored: every regular file and every subfolder (empty ones too). A symlink to a file
    inside the folder is stored as a copy of that file; a symlink leading outside the folder, to a
    folder, or to nothing is refused, as are sockets, fifos and devices. Files must not change
    while they are stored: a change is detected and refused, naming the file.

    The path is made absolute when the value is created, so a later ``os.chdir`` does not change
    which folder is stored. A zero-argument callable returning a ``Directory`` works as any
    checkpoint callable does: it is called only at ready points.

    Example:
        >>> from pathlib import Path
        >>> from populace.checkpoints import Directory, LocalCheckpointStore
        >>> folder = Path("model")
        >>> folder.mkdir()
        >>> _ = (folder / "config.json").write_text('{"hidden": 8}')
        >>> store = LocalCheckpointStore("checkpoints")
        >>> ref = store.put(Directory(folder))
        >>> restored = store.get_directory(ref, "restored")
        >>> (restored / "config.json").read_text()
        '{"hidden": 8}'

    Raises:
        CheckpointError: ``path`` is not a str or path-like object.
    """

    path: Path

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise CheckpointError(
                f"Directory needs a folder path (str or os.PathLike), got {path!r:.100}"
            )
        object.__setattr__(self, "path", Path(os.path.abspath(path)))
