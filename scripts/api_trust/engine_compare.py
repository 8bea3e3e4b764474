"""Do two engines agree? Every mart of a DuckDB warehouse against the same mart as Spark
exported it (Parquet, `<folder>/<mart>/`: api_trust.spark.export_models), read side by
side in DuckDB.

Rows are matched after sorting both sides by every column (doubles rounded for the
sort only). Text, integers, booleans and timestamps must be equal; doubles equal to a
relative 1e-9 (the engines sum in different orders). Percentiles are exact on both
engines, so they are held to the same bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from api_trust.contract import PROJECT_ROOT
from api_trust.landing import quote_ident, sql_literal

MARTS_DIR = PROJECT_ROOT / "models" / "marts"
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-12
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
SHOWN = 3  # differing rows shown per mart


def mart_names() -> list[str]:
    """Every mart of the project (a model under models/marts)."""
    return sorted(p.stem for p in MARTS_DIR.rglob("*.sql"))


@dataclass
class Comparison:
    mart: str
    rows: tuple[int, int] = (0, 0)
    problems: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not self.problems


def _is_float(data_type: str) -> bool:
    return data_type.upper().startswith(FLOAT_TYPES) or data_type.upper().startswith("DECIMAL")


def _close(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


def compare_mart(
    con: duckdb.DuckDBPyConnection, mart: str, duck_relation: str, spark_folder: Path
) -> Comparison:
    """One mart: `duck_relation` (attached) against the Parquet files of `spark_folder`."""
    result = Comparison(mart)
    files = sorted(spark_folder.glob("*.parquet"))
    if not files:
        result.problems.append(f"Spark wrote no Parquet file in {spark_folder}")
        return result
    spark = f"read_parquet({sql_literal(str(spark_folder / '*.parquet'))})"
    duck = duck_relation
    duck_columns = con.execute(f"describe select * from {duck}").fetchall()
    spark_columns = {r[0]: r[1] for r in con.execute(f"describe select * from {spark}").fetchall()}
    names = [c[0] for c in duck_columns]
    if names != list(spark_columns):
        result.problems.append(f"columns differ: DuckDB {names}, Spark {list(spark_columns)}")
        return result
    floats = [i for i, (_, data_type, *_) in enumerate(duck_columns) if _is_float(data_type)]

    def rows(relation: str, cast: bool) -> list[tuple]:
        select = ", ".join(
            f"cast({quote_ident(n)} as double)" if i in floats
            else f"cast({quote_ident(n)} as {t})" if cast else quote_ident(n)
            for i, (n, t, *_) in enumerate(duck_columns)
        )  # fmt: skip
        exact = [i + 1 for i in range(len(names)) if i not in floats]
        rounded = [f"round({i + 1}, 6 - cast(floor(log10(abs({i + 1}) + 1e-300)) as integer))"
                   for i in floats]  # fmt: skip
        order = ", ".join([str(i) for i in exact] + rounded) or "1"
        return con.execute(f"select {select} from {relation} order by {order}").fetchall()

    left, right = rows(duck, False), rows(spark, True)
    result.rows = (len(left), len(right))
    if len(left) != len(right):
        result.problems.append(f"{len(left):,} rows on DuckDB, {len(right):,} on Spark")
        return result
    for a, b in zip(left, right, strict=True):
        bad = [
            names[i] for i in range(len(names))
            if not (_close(a[i], b[i]) if i in floats else a[i] == b[i])
        ]  # fmt: skip
        if bad:
            shown = {n: (a[names.index(n)], b[names.index(n)]) for n in bad}
            result.problems.append(f"row differs in {', '.join(bad)}: (DuckDB, Spark) {shown}")
            if len(result.problems) >= SHOWN:
                break
    return result


def compare_marts(
    duck_db: Path, spark_marts: Path, marts: list[str] | None = None, schema: str = "main"
) -> list[Comparison]:
    """Every mart (or those named) of the DuckDB warehouse against Spark's export."""
    con = duckdb.connect()
    # attached under its own name: a view's catalog is the file's stem
    catalog = quote_ident(duck_db.stem)
    try:
        con.execute(f"attach {sql_literal(str(duck_db))} as {catalog} (read_only)")
        prefix = f"{catalog}.{quote_ident(schema)}"
        return [
            compare_mart(con, mart, f"{prefix}.{quote_ident(mart)}", spark_marts / mart)
            for mart in (marts or mart_names())
        ]
    finally:
        con.close()
