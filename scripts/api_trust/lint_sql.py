"""sqlfluff over the project's SQL, skipping files that passed unchanged last time.

sqlfluff with the dbt templater is the slowest part of `make lint` (a cold lint took
4m05 and 467 CPU-seconds on 2 cores, 2026-12-04, `--persist-timing`: parsing and the
layout rules over the templated SQL, which is 3.4x the source). Like ruff's own cache,
this one remembers which files passed, by content, and lints only the others. What
else decides a file's result goes into one project key, and any change to it lints
every file again:

- sqlfluff's version and its config and ignore files;
- everything else dbt reads to render a file: dbt_project.yml, profiles.yml,
  selectors.yml, and every file in dbt's folders (models/, macros/, seeds/,
  analyses/, snapshots/, tests/generic/) other than the SQL files being linted, whose
  paths go in too (a renamed model changes what a `ref` renders to);
- the command line's arguments.

Only passes are remembered: a file that fails is linted again next time. `--no-cache`
(or API_TRUST_LINT_CACHE=0) lints every file. The cache lives in target/lint/, which
a fresh clone does not have: its first `make lint` lints everything.

Usage: python -m api_trust.lint_sql [--no-cache] PATH... [-- SQLFLUFF_ARGS...]
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path("target") / "lint" / "sqlfluff_passed.json"  # under ROOT
KEY_FILES = (".sqlfluff", ".sqlfluffignore", "dbt_project.yml", "profiles.yml", "selectors.yml")
# the folders dbt reads (tests/python is pytest's, not dbt's)
DBT_FOLDERS = ("models", "macros", "seeds", "analyses", "snapshots", "tests/generic")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql_files(paths: list[str]) -> list[Path]:
    """The SQL files sqlfluff would lint in `paths`: its own discovery, so .sqlfluffignore
    keeps the meaning sqlfluff gives it (an ignored file is not passed by name, which
    sqlfluff would warn about)."""
    from sqlfluff.core.linter.discovery import paths_from_path

    files: list[Path] = []
    for name in paths:
        found = paths_from_path(str(ROOT / name), working_path=str(ROOT))
        files += sorted(Path(f).resolve() for f in found)
    return files


def project_key(files: list[Path], args: list[str]) -> str:
    from importlib.metadata import version

    h = hashlib.sha256(json.dumps([version("sqlfluff"), args]).encode())
    linted = set(files)
    keyed = [ROOT / f for f in KEY_FILES if (ROOT / f).exists()]
    for folder in DBT_FOLDERS:
        keyed += sorted(p for p in (ROOT / folder).rglob("*") if p.is_file() and p not in linted)
    for p in keyed:
        h.update(f"{p.relative_to(ROOT)}\0{digest(p)}\0".encode())
    h.update("\0".join(str(f.relative_to(ROOT)) for f in files).encode())
    return h.hexdigest()


def load_cache(key: str) -> dict[str, str]:
    try:
        cached = json.loads((ROOT / CACHE).read_text())
    except (OSError, ValueError):
        return {}
    return cached.get("files", {}) if cached.get("key") == key else {}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    use_cache = os.environ.get("API_TRUST_LINT_CACHE", "1") != "0"
    if "--no-cache" in argv:
        argv.remove("--no-cache")
        use_cache = False
    paths, extra = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    if not paths:
        print(
            "usage: python -m api_trust.lint_sql [--no-cache] PATH... [-- SQLFLUFF_ARGS...]",
            file=sys.stderr,
        )
        return 2
    files = sql_files(paths)
    key = project_key(files, extra)
    passed = load_cache(key) if use_cache else {}
    now = {str(f.relative_to(ROOT)): digest(f) for f in files}
    todo = [name for name, sha in now.items() if passed.get(name) != sha]
    if not todo:
        print(f"sqlfluff: all {len(files)} files unchanged since they passed ({CACHE})")
        return 0
    if len(todo) < len(files):
        print(
            f"sqlfluff: {len(files) - len(todo)} of {len(files)} files unchanged since they passed; linting {len(todo)}"
        )
    code = run_sqlfluff(["lint", *todo, *extra])
    if code == 0:
        (ROOT / CACHE).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / CACHE).write_text(json.dumps({"key": key, "files": now}, indent=0))
    return code


def run_sqlfluff(args: list[str]) -> int:
    """sqlfluff's exit code, run in the project folder. Its own function, so that a test
    replaces this module's sqlfluff and not `subprocess.run`, which the test session's
    background threads share (they once ran a build through the test's recorder)."""
    sqlfluff = Path(sys.executable).with_name("sqlfluff")
    return subprocess.run([str(sqlfluff), *args], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
