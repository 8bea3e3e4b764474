"""`make dimensions`: which delivered fields become analysis dimensions, and which stay in raw.

The models write an extra dimension as a column name (the root-cause cube) and as SQL
text (fct_call_dimensions), and `--write` writes it into dbt_project.yml as YAML. A
field name from a team's log can be anything a JSON key can be, so the command must
read every name without failing and propose only names the models can carry; the
models refuse any other name in the var with a message that names it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from api_trust import dimensions
from api_trust.contract import project_vars
from conftest import ROOT, Warehouse, dbt, generate, in_background, run

# field name -> why it stays in raw (None: a candidate; "as x": a candidate sliced as x, the
# name its letters and digits make); each has two values over 40 calls
FIELDS: dict[str, str | None] = {
    "country": None,
    "SDKVERSION": None,  # listed first (byte order), so the first of these two
    "sdkVersion": "a candidate's",  # the same column name as SDKVERSION, whatever its case
    'sel"ect': "not a plain identifier",  # a quote once broke the command's JSON path
    "it's": "not a plain identifier",
    "k8s.namespace.name": "as k8s_namespace_name",  # an OpenTelemetry attribute
    "a b": "as a_b",
    "select": "reserved SQL keyword",
    "language": None,  # a keyword, not a reserved one: a column name like any other
    "no": "YAML would read",  # YAML 1.1 reads it as false
}


def test_every_field_name_is_read_and_only_names_the_models_can_carry_are_proposed(
    tmp_path,
) -> None:
    db = tmp_path / "warehouse.duckdb"
    path = tmp_path / "named.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(40):
            route = "/v1/aadhaar/ocr" if i % 5 == 0 else "/v1/pan/verify"
            record = {"request_id": f"dim-{i}", "timestamp": "2026-11-01T10:00:00Z",
                      "http.route": route, "http.request.method": "POST",
                      "http.response.status_code": 200 if i % 3 else 500, "duration_ms": 100 + i}  # fmt: skip
            record |= {name: f"v{i % 2}" for name in FIELDS}
            if i % 4 < 2:  # on half the records only: null on the others' extra_fields
                record["tenant_tier"] = f"t{i % 2}"
            # a gateway's error detail (errorMessage would be our error_message): its value
            # is the outcome's, not where calls go
            record["errorDetail"] = "Internal server error" if i % 3 == 0 else "-"
            # a span's name: the API again, under another name
            record["span_name"] = f"POST {route}"
            # a nested record delivered whole (Cloud Logging's resource): structure, whose
            # parts a mapping can land by name
            record["resource"] = {"type": "run", "labels": {"service": f"s{i % 2}"}}
            fh.write(json.dumps(record) + "\n")
    run([sys.executable, "-m", "api_trust.ingest", str(path)], db, tmp_path)
    proc = run([sys.executable, "-m", "api_trust.dimensions"], db, tmp_path)
    assert "Traceback" not in proc.stderr
    said = dict(re.findall(r"^dimensions: (.+?): 40 values, 2 distinct, .*?-> (.+?)(?: \(listed\))?; e\.g\.",
                           proc.stdout, re.M))  # fmt: skip
    assert set(said) >= set(FIELDS), proc.stdout
    # a description of the failure is no dimension: sliced by it, its one value fails always
    assert said["errorDetail"].startswith(
        "stays in raw: its value follows the call's status or reason (100% of records)"
    ), said["errorDetail"]
    assert said["span_name"].startswith(
        "stays in raw: its value and the API tell each other (100% and 100% of records)"
    ), said["span_name"]
    assert said["resource"].startswith(
        "stays in raw: its values are JSON objects or lists (100%): a shape's mapping can land"
    ), said["resource"]
    # a field some records lack: its nulls are neither values nor examples
    assert (
        "dimensions: tenant_tier: 20 values, 2 distinct, 0% id-like -> candidate; e.g. t0, t1\n"
        in proc.stdout
    )
    for name, reason in FIELDS.items():
        if reason is None:
            assert said[name] == "candidate", (name, said[name])
        elif reason.startswith("as "):
            column = reason.removeprefix("as ")
            assert (
                said[name]
                == f"candidate as {column} (analysis_dimensions.fields: {column}: {name})"
            )
        else:
            assert said[name].startswith("stays in raw: ") and reason in said[name], (
                name,
                said[name],
            )


def test_a_taken_name_and_the_written_var_read_back(tmp_path, monkeypatch) -> None:
    """A cube column (`calls`) is never proposed; `--write` writes names YAML reads as
    themselves, which the models accept (vars.dimension_name_pattern)."""
    pattern = project_vars()["dimension_name_pattern"]
    assert "column" in dimensions.name_problem("calls", pattern, {"calls"}, set())
    assert dimensions.name_problem("merchant_tier", pattern, {"calls"}, {"select"}) is None
    root = Path(dimensions.PROJECT_ROOT)
    (tmp_path / "dbt_project.yml").write_text(
        (root / "dbt_project.yml").read_text(encoding="utf-8")
    )
    monkeypatch.setattr(dimensions, "PROJECT_ROOT", tmp_path)
    # an OpenTelemetry attribute is proposed under its letters and digits; a name with a
    # quote, or of no letter or digit, is not
    assert dimensions.column_name("tenant.id", pattern) == "tenant_id"
    assert dimensions.column_name("k8s.namespace.name", pattern) == "k8s_namespace_name"
    assert dimensions.column_name("Carrier Name (MNO)", pattern) == "Carrier_Name_MNO"
    assert dimensions.column_name("it's", pattern) is None
    assert dimensions.column_name("...", pattern) is None
    assert dimensions.column_name("country", pattern) is None  # its own name is one
    dimensions.write_extra(["country", "sdkVersion", "tenant_id"], {"tenant_id": "tenant.id"})
    import yaml

    written = yaml.safe_load((tmp_path / "dbt_project.yml").read_text(encoding="utf-8"))
    extra = written["vars"]["analysis_dimensions"]["extra"]
    assert extra == ["country", "sdkVersion", "tenant_id"]
    assert all(re.fullmatch(pattern, name) for name in extra)
    assert written["vars"]["analysis_dimensions"]["fields"] == {"tenant_id": "tenant.id"}
    dimensions.write_extra(["country"])  # and no field read under another name again
    written = yaml.safe_load((tmp_path / "dbt_project.yml").read_text(encoding="utf-8"))
    assert written["vars"]["analysis_dimensions"]["fields"] == {}


@pytest.mark.parametrize(
    ("core", "extra", "said"),
    [
        (["region"], ["it's"], "vars.analysis_dimensions.extra: it's is not a plain identifier"),
        (["region"], ["k8s.namespace.name"],
         "vars.analysis_dimensions.extra: k8s.namespace.name is not a plain identifier"),
        ([], [], "vars.analysis_dimensions lists no dimension besides api_name"),
        (["carrier"], [], "vars.analysis_dimensions.core: carrier is not a column of "
                          "fct_api_calls; a field delivered in the logs"),
        (["region"], ["k8s_ns", {"fields": {"tenant_id": "tenant.id"}}],
         "vars.analysis_dimensions.fields: tenant_id: tenant.id is not usable"),
        (["region"], ["tenant_id", {"fields": {"tenant_id": "tenant's id"}}],
         "vars.analysis_dimensions.fields: tenant_id: tenant's id is not usable"),
    ],
    ids=["quote-in-extra", "dots-in-extra", "no-dimension", "core-not-a-fact-column",
         "field-of-no-listed-dimension", "quote-in-field"],
)  # fmt: skip
def test_a_dimension_list_the_models_cannot_use_is_one_clear_error(
    tmp_path, core: list[str], extra: list, said: str
) -> None:
    """A name written into the var by hand that the models cannot write as a column, a list
    with no dimension at all, or a core name that is no fact column stops compilation with
    one message instead of an SQL error. Every model reads the list through the macro that
    checks it (rca_dimensions; test_the_list_is_read_in_one_place), so the macro is run
    with the list: `dbt run-operation` reads the session's parse, where a `--vars` compile
    parsed the whole project again (about 7 s each)."""
    # a trailing {"fields": ...} in `extra` is the list's fields (analysis_dimensions.fields)
    fields = extra.pop()["fields"] if extra and isinstance(extra[-1], dict) else {}
    dims = json.dumps({"dims": {"core": core, "extra": extra, "fields": fields}})
    proc = dbt(tmp_path / "warehouse.duckdb", tmp_path, "run-operation", "rca_dimensions",
               "--args", dims, check=False)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out
    assert said in out, out


def test_the_list_is_read_in_one_place() -> None:
    """Only the two checking macros read vars.analysis_dimensions; models and other macros
    take the list from rca_dimensions (or listed_extra_dimensions / rca_extra_dimensions,
    which it calls; extra_dimension_field the checked fields), so a list the checks refuse
    stops every reader."""
    readers = {
        f"{path.relative_to(ROOT)}:{no}"
        for folder in ("models", "macros", "analyses", "tests/generic")
        for path in sorted((ROOT / folder).rglob("*.sql"))
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"var\(\s*['\"]analysis_dimensions['\"]", line)
    }
    assert {r.split(":")[0] for r in readers} == {"macros/root_cause.sql"}, readers
    # listed_extra_dimensions, rca_dimensions, rca_extra_dimensions
    assert len(readers) == 3, readers


@in_background
def test_logs_with_one_dimension_build(tmp_path) -> None:
    """A team whose logs carry only a region lists just that (no client, version or
    document type). The root cause slices by it alone, the failure-rate mart holds its
    values (as text: one dimension's values are the cube's ENUM), and the marts about
    versions and document types build empty."""
    wh = Warehouse(tmp_path / "warehouse.duckdb", tmp_path)
    generate(wh.db, wh.work, "--rows", "20000", "--seed", "5")
    dims = json.dumps({"analysis_dimensions": {"core": ["region"], "extra": []}})
    dbt(wh.db, wh.work, "build", "--quiet", "--vars", dims, "--select", "+rca_findings",
        "+rca_version_regressions", "+rca_fragile_document_types", "+agg_failure_rate_by_dimension", "--indirect-selection", "cautious")  # fmt: skip
    by_dimension = wh.rows("select dimension, count(*), min(typeof(dimension_value)) "
                           "from agg_failure_rate_by_dimension group by 1")  # fmt: skip
    assert by_dimension == [("region", 4, "VARCHAR")]
    assert wh.scalar("select count(*) from rca_version_regressions") == 0
    assert wh.scalar("select count(*) from rca_fragile_document_types") == 0
    segments = [s for (s,) in wh.rows("select segment from intermediate.int_rca_cells_counted")]
    assert segments and {part.split("=")[0] for s in segments for part in s.split(", ")} == {
        "api_name", "region"}  # fmt: skip
