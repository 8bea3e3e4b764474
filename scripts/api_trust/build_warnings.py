"""The warn-severity tests that fired in the last dbt build, one line each.

    python -m api_trust.build_warnings            (make build runs it after dbt build)

`make build` runs `dbt build --quiet`, which prints errors only, so a warning (an
error reason missing from the seed, a drifted batch, a batch of unusual volume)
would otherwise reach only dbt's log file. This reads the build's
`run_results.json` ($DBT_TARGET_PATH, else target/) and prints, to stderr, each
test that warned and how many rows it found; the rows themselves are what the
test's compiled query selects. Nothing is printed when no test warned, or when
the build wrote no results.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from api_trust.contract import dbt_target_dir


def results_path() -> Path:
    """The last dbt command's run_results.json, in dbt's target folder."""
    return dbt_target_dir() / "run_results.json"


def warnings(run_results: dict, target: Path) -> list[str]:
    """One line per warned test: its name, the rows it found, the query that finds them
    (the test as compiled under `target`)."""
    lines = []
    for result in run_results.get("results", []):
        if result.get("status") != "warn":
            continue
        name = result["unique_id"].split(".")[2]
        rows = result.get("failures")
        found = f"{rows:,} row{'s' if rows != 1 else ''}" if rows is not None else "a warning"
        compiled = sorted((target / "compiled").glob(f"**/{name}.sql"))
        where = f"; the query: {compiled[0]}" if compiled else ""
        lines.append(f"build: warning: {name} found {found}{where}")
    return lines


def main() -> None:
    path = results_path()
    if not path.exists():
        return
    try:
        run_results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"build: cannot read {path} for its warnings: {err}", file=sys.stderr)
        return
    for line in warnings(run_results, path.parent):
        print(line, file=sys.stderr)


if __name__ == "__main__":
    main()
