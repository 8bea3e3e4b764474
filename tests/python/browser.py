"""The browser for the browser tests: the package's headless-Chromium client, and the rule
for when a browser test may skip.

The client (api_trust.dashboard.chromium) drives Debian's chromium over the DevTools
protocol on a pipe; the PNG export uses the same one. A browser test skips, with the
reason, only on a developer machine without Chromium: under CI=true a missing browser
fails the test (make test installs it as root, so CI never loses these tests silently).
"""

from __future__ import annotations

import os

import pytest
from api_trust.dashboard.chromium import CHROMIUM_HINT, HeadlessChromium, chromium_path

__all__ = ["IN_CI", "HeadlessChromium", "needs_chromium"]

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
needs_chromium = pytest.mark.skipif(
    chromium_path() is None and not IN_CI,
    reason=f"no Chromium: browser tests need it ({CHROMIUM_HINT}); under CI=true they fail instead",
)
