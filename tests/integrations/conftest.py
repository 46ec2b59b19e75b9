"""Each integration's tests need its framework: without it they are left out (``pip install
'populace[test]'`` brings every one)."""

from __future__ import annotations

import importlib.util

# Test files (glob, relative to this folder) -> the framework they need.
NEEDS = {"*lightning*": "lightning", "*transformers*": "transformers"}

collect_ignore_glob = [
    files for files, need in NEEDS.items() if importlib.util.find_spec(need) is None
]
