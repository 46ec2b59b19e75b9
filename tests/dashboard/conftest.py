"""The dashboard tests' fixtures: one headless Chromium per module, a fresh page per test.

The browser is Debian's Chromium (``/usr/bin/chromium``), driven by Playwright, which must not
download one. Without it the browser tests are skipped, unless ``POPULACE_REQUIRE_BROWSER=1``
(CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str | None:
    """Debian's Chromium, or None."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module's tests."""
    executable = chromium()
    if executable is None:
        reason = "no Chromium at /usr/bin/chromium or on PATH (apt-get install chromium)"
        if os.environ.get("POPULACE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and POPULACE_REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (its own context: no cache, no storage) at 1400x900."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert not errors, f"the page raised: {errors}"
