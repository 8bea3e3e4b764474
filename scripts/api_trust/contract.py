"""Where things are, and what a log record is.

Paths resolve from the project root (or env vars), never from the current
directory. The record contract is read from `dbt_project.yml` vars so that the
loader and the dbt models share one definition.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LINEAGE_COLUMNS = ("batch_id", "source_name", "source_record_no", "loaded_at")


def _project_path(env: str, default: str) -> Path:
    """$env, else `default`; a relative path is under the project root, never the current
    directory (make runs there, a person may not)."""
    path = Path(os.environ.get(env, default))
    return path if path.is_absolute() else PROJECT_ROOT / path


def db_path() -> Path:
    """The warehouse file: $API_TRUST_DB, else data/api_trust.duckdb under the project root."""
    return _project_path("API_TRUST_DB", "data/api_trust.duckdb")


def dbt_target_dir() -> Path:
    """dbt's target folder: $DBT_TARGET_PATH (relative to the project folder, as dbt reads
    it when make runs it there), else target/."""
    return _project_path("DBT_TARGET_PATH", "target")


def data_dir() -> Path:
    return _project_path("API_TRUST_DATA_DIR", "data")


def dashboards_dir() -> Path:
    return _project_path("API_TRUST_DASHBOARDS_DIR", "dashboards")


@dataclass(frozen=True)
class LogColumn:
    name: str
    required: bool
    type: str
    protocol: bool = False  # delivered by gateway/trace shapes; never reported missing


@cache
def _vars() -> dict:
    with open(PROJECT_ROOT / "dbt_project.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["vars"]


def project_vars() -> dict:
    """The `vars` block of dbt_project.yml (thresholds and limits the loaders share)."""
    return _vars()


def log_columns() -> tuple[LogColumn, ...]:
    """Expected input columns, in canonical order."""
    return tuple(
        LogColumn(c["name"], bool(c["required"]), c["type"], bool(c.get("protocol", False)))
        for c in _vars()["log_columns"]
    )


def column_aliases() -> dict[str, str]:
    """Known other names for our columns (drift 'renamed'): alias -> canonical name."""
    return dict(_vars()["log_column_aliases"])


def name_key(name: str) -> str:
    """A delivered field name as the loader compares it with ours: lower case, letters and
    digits only. `statusCode`, `Status Code`, `STATUS-CODE` and `status_code` are one name;
    `Latency (ms)` is latency_ms, `timeStamp` timestamp (as seed value_aliases' keys are
    compared)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


@cache
def _targets_by_key() -> dict[str, str]:
    targets = {name_key(alias): column for alias, column in column_aliases().items()}
    return targets | {name_key(c.name): c.name for c in log_columns()}


def contract_target(name: str) -> str | None:
    """The contract column a delivered field name means, by name or alias, compared as
    name_key compares them; None for a field outside the contract."""
    return _targets_by_key().get(name_key(name))
