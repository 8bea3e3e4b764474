"""Render the dashboards from the marts: one offline HTML page and its charts as PNGs.

    python -m api_trust.dashboards          (make dashboards)

One job per module of api_trust.dashboard: `marts` reads the warehouse
(read-only, closed before anything is drawn), `payload` folds what was read to
aggregates, `page` writes index.html with the page's own HTML, CSS and
JavaScript inlined, and `export` opens that page in headless Chromium and
writes each chart it drew as a PNG. Every chart is defined once, in
dashboard/web/charts.js.
"""

from __future__ import annotations

import sys
from pathlib import Path

from api_trust.contract import dashboards_dir, db_path
from api_trust.dashboard.export import Export, export_pngs
from api_trust.dashboard.marts import QUERIES, MartRead, marts_read, read_warehouse
from api_trust.dashboard.page import plotly_js, render_page
from api_trust.dashboard.payload import build_payload
from api_trust.warehouse import run_cli

__all__ = ["QUERIES", "main", "marts_read", "write_page"]


def progress(message: str) -> None:
    print(f"dashboards: {message}", file=sys.stderr, flush=True)


def write_page(read: MartRead, out_dir: Path) -> Path:
    """index.html from what was read: the payload plus the page's files, one offline file."""
    index = out_dir / "index.html"
    payload = build_payload(read, db_path().name)
    index.write_text(render_page(payload, plotly_js()), encoding="utf-8")
    return index


def summary_line(index: Path, read: MartRead, export: Export) -> str:
    """The one line a `make dashboards` ends with: what was written, where, and what is missing."""
    size = f"{index.stat().st_size / 1e6:.1f} MB"
    missing = sorted({QUERIES[q][0][0] for q in read.missing})
    gaps = f"; marts not built yet: {', '.join(missing)}" if missing else ""
    if export.problem:
        return f"dashboards: wrote {index} ({size}) but no PNGs: {export.problem}{gaps}"
    return (
        f"dashboards: wrote {index} ({size}) and {len(export.paths)} PNGs in {index.parent} "
        f"(exported from the page in one browser session, {export.seconds or 0:.1f} s){gaps}"
    )


def main(argv: list[str] | None = None) -> None:
    out_dir = dashboards_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    progress(f"reading marts from {db_path()} (read-only)")
    read = read_warehouse()  # closed before anything is drawn
    if read.missing:
        progress(
            f"{len(read.missing)} queries without a mart, shown as notes: {', '.join(sorted(read.missing))}"
        )
    index = write_page(read, out_dir)
    progress(f"wrote {index}; exporting its charts as PNGs in one browser session")
    print(summary_line(index, read, export_pngs(index, out_dir)))


if __name__ == "__main__":
    run_cli(main)
