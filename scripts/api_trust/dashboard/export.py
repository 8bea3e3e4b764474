"""Export every chart of the page as PNG, from the page itself, in one Chromium session.

The page is opened headless from file:// (offline), and each chart is exported
with plotly's own `Plotly.toImage` on the chart the page drew: a PNG is the
page's chart, never a second definition of it.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from pathlib import Path

from api_trust.dashboard.chromium import CHROMIUM_HINT, ChromiumMissing, HeadlessChromium

PNG_WIDTH = 1200


@dataclass
class Export:
    """What the export wrote, how long it took, and why nothing was written when so."""

    paths: list[Path] = field(default_factory=list)
    seconds: float | None = None
    problem: str | None = None


def stale_pngs(out_dir: Path) -> list[Path]:
    """PNGs of an earlier run: removed first, so a chart now shown as a note leaves none."""
    return [p for p in out_dir.glob("*.png") if p.name.startswith("dashboard_") or p.stem in {
        "api_latency_distribution", "success_rate_by_region", "failure_rate_by_document"}]  # fmt: skip


def export_pngs(index: Path, out_dir: Path) -> Export:
    """Open `index` headless and write one PNG per drawn chart (names chosen by the page)."""
    for old in stale_pngs(out_dir):
        old.unlink()
    start = time.perf_counter()
    try:
        browser = HeadlessChromium(width=PNG_WIDTH, height=900)
    except ChromiumMissing:
        return Export(
            problem=f"PNG export needs Chromium: {CHROMIUM_HINT}; index.html was still written"
        )
    with browser:
        browser.open(index.as_uri(), timeout=120)
        errors = browser.evaluate("window.__dashboard.errors")
        if errors:
            raise RuntimeError(f"the page failed to draw: {errors}")
        charts = browser.evaluate("window.__dashboard.charts.filter(c => c.drawn)")
        paths = []
        for chart in charts:
            url = browser.evaluate(
                f"window.__dashboard.toPng({chart['id']!r}, {PNG_WIDTH})", timeout=60
            )
            path = out_dir / chart["png"]
            path.write_bytes(base64.b64decode(url.split(",", 1)[1]))
            paths.append(path)
    return Export(paths, time.perf_counter() - start)
