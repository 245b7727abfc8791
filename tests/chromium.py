"""Debian's chromium for the browser tests: where it is, the flags it runs with, and the module-level check (CI
installs it; elsewhere a module without it is skipped, saying how to install it)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def require() -> None:
    """Call at a browser test module's top: fail in CI without chromium, else skip the module."""
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        raise RuntimeError("chromium is not installed; .ci/run installs Debian's chromium package")
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); CI installs it",
                allow_module_level=True)


def launched():
    """A headless chromium for a module's tests (a generator for a fixture: yields the browser, closes it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()
