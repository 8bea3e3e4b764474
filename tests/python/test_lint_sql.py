"""make lint's sqlfluff cache (api_trust.lint_sql): a file is skipped only when it and
everything that renders it are unchanged since it passed.

sqlfluff itself runs on every file in `make lint`; here it is replaced by a recorder that
passes or fails as told, in a throwaway project, so the test is about what gets linted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from api_trust import lint_sql


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> tuple[Path, list[list[str]], dict[str, int]]:
    for name, text in {
        ".sqlfluff": "[sqlfluff]\ndialect = duckdb\n",
        "dbt_project.yml": "name: p\n",
        "models/a.sql": "select 1 as a\n",
        "models/b.sql": "select 2 as b\n",
        "models/_models.yml": "version: 2\n",
        "seeds/_seeds.yml": "version: 2\n",
        "macros/m.sql": "{% macro m() %}1{% endmacro %}\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    linted: list[list[str]] = []
    result = {"code": 0}

    def sqlfluff(args: list[str]) -> int:
        assert args[0] == "lint" and tmp_path == lint_sql.ROOT
        linted.append(sorted(a for a in args[1:] if a.endswith(".sql")))
        return result["code"]

    monkeypatch.setattr(lint_sql, "ROOT", tmp_path)
    # this module's runner, never subprocess.run: the session's background builds share it
    monkeypatch.setattr(lint_sql, "run_sqlfluff", sqlfluff)
    return tmp_path, linted, result


def test_only_changed_or_failed_files_are_linted_again(project) -> None:
    root, linted, result = project
    both = ["models/a.sql", "models/b.sql"]
    assert lint_sql.main(["models", "--", "--nocolor"]) == 0 and linted == [both]
    assert lint_sql.main(["models", "--", "--nocolor"]) == 0 and len(linted) == 1  # all cached

    (root / "models/a.sql").write_text("select 10 as a\n")
    result["code"] = 1  # a.sql now fails: it is not remembered
    assert lint_sql.main(["models", "--", "--nocolor"]) == 1 and linted[-1] == ["models/a.sql"]
    result["code"] = 0
    assert lint_sql.main(["models", "--", "--nocolor"]) == 0 and linted[-1] == ["models/a.sql"]
    assert lint_sql.main(["models", "--", "--nocolor"]) == 0 and len(linted) == 3  # cached again


@pytest.mark.parametrize(
    "change",
    [
        "macros/m.sql",
        ".sqlfluff",
        "models/_models.yml",
        "seeds/_seeds.yml",
        "models/c.sql",
        "args",
        "no-cache",
    ],
)
def test_what_renders_a_file_lints_every_file_again(project, change: str) -> None:
    root, linted, _ = project
    args = ["models", "--", "--nocolor"]
    assert lint_sql.main(args) == 0 and lint_sql.main(args) == 0 and len(linted) == 1
    if change == "args":
        args = ["models", "--", "--nocolor", "--processes", "2"]
    elif change == "no-cache":
        args = ["--no-cache", *args]
    else:
        (root / change).write_text(
            (root / change).read_text() + "\n" if (root / change).exists() else "select 3 as c\n"
        )
    assert lint_sql.main(args) == 0
    assert len(linted) == 2 and linted[-1][:2] == ["models/a.sql", "models/b.sql"]


def test_a_file_sqlfluff_ignores_is_not_linted_but_still_keys_the_others(project) -> None:
    root, linted, _ = project
    (root / ".sqlfluffignore").write_text("models/b.sql\n")
    args = ["models", "--", "--nocolor"]
    assert lint_sql.main(args) == 0 and linted == [["models/a.sql"]]
    (root / "models/b.sql").write_text("select 20 as b\n")  # dbt still renders it: a ref may change
    assert lint_sql.main(args) == 0 and linted[-1] == ["models/a.sql"] and len(linted) == 2
