"""Personal data at landing: the SQL of macros/pii.sql, rendered for the loaders.

The rule set lives once, in the dbt macro file; this module renders its
`default__` macros with plain Jinja so that the file loader and the generator
mask exactly what the `no_pii_in_text` test looks for.

Free text gets tokens (`[PAN]`, `[AADHAAR]`, `[EMAIL]`, `[PHONE]`, `[IP]`).
Identifiers (request, verification and client ids) that hold personal data
become `pii_` plus a keyed hash, so equal ids stay equal (deduplication still
works) and the value cannot be read back. The key is `API_TRUST_PII_KEY`, else a
random key kept in `pii.key` beside the warehouse (created on first use, mode
0600; never in git). Losing it only means the same id loaded later hashes
differently.
"""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

import jinja2

from api_trust.contract import PROJECT_ROOT

PII_MACROS = PROJECT_ROOT / "macros" / "pii.sql"
ID_COLUMNS = frozenset({"request_id", "verification_id", "client_id", "trace_id"})


@cache
def _module():
    # Only the plain `default__` macros are called; the dispatching wrappers stay unused.
    env = jinja2.Environment(extensions=["jinja2.ext.do"], autoescape=False)
    return env.from_string(PII_MACROS.read_text(encoding="utf-8")).module


def _call(name: str, *args: str) -> str:
    return str(getattr(_module(), name)(*args)).strip()


def mask_text_sql(expr: str) -> str:
    """SQL that masks personal data in a text expression; text without any, and null,
    stay exactly as they are."""
    return _call("default__mask_pii", expr)


def has_pii_sql(expr: str) -> str:
    """SQL that is true when a text expression holds personal data."""
    return _call("default__has_pii", expr)


def mask_id_sql(expr: str, key: str) -> str:
    """SQL for an identifier: itself, or `pii_<keyed hash>` when it holds personal data."""
    literal = "'" + key.replace("'", "''") + "'"
    return _call("default__mask_pii_id", expr, literal)


def mask_column_sql(column: str, expr: str, key: str, row_has_pii: str | None = None) -> str:
    """The landing expression for one delivered column, by what the column holds.

    `row_has_pii`, when given, is a boolean column from `row_has_pii_sql` over the
    record's values: a record without personal data (nearly all) skips the per-column
    rules, one regular-expression match a record instead of one a value.
    """
    masked = mask_value_sql(expr, key, identifier=column in ID_COLUMNS)
    return (
        masked if row_has_pii is None else f"case when {row_has_pii} then {masked} else {expr} end"
    )


def mask_value_sql(expr: str, key: str, *, identifier: bool) -> str:
    """The landing expression for a value of an identifier column or of a text column."""
    if identifier:
        return mask_id_sql(expr, key)
    # values without personal data stay exactly as delivered (mask_pii leaves them alone)
    return mask_text_sql(expr)


def row_has_pii_sql(exprs: list[str]) -> str:
    """True when any of the text expressions holds personal data, in one match.

    The values are joined with U+0001, which no rule's pattern contains and every
    bounded rule accepts as a boundary (as it accepts the start or end of a value), so
    the joined text matches exactly when one of the values does.
    """
    if not exprs:
        return "false"
    return f"coalesce({has_pii_sql('concat_ws(chr(1), ' + ', '.join(exprs) + ')')}, false)"


def pii_key(db: Path) -> str:
    """The hashing key: $API_TRUST_PII_KEY, else `pii.key` beside the warehouse (made once)."""
    env = os.environ.get("API_TRUST_PII_KEY")
    if env:
        return env
    path = db.parent / "pii.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()
