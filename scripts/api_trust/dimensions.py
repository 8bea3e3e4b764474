"""Find the delivered fields worth slicing by, and make them analysis dimensions.

    python -m api_trust.dimensions            (make dimensions)      list candidates
    python -m api_trust.dimensions --write    (make dimensions WRITE=1) update the var

A candidate is a field outside the contract (raw.api_calls.extra_fields) with at
most `vars.max_dimension_values` distinct values that does not look like an id:
fewer distinct values than half its rows, and values that are not mostly
whole numbers, UUIDs or long hex, nor JSON objects or lists (a nested record delivered
whole: a mapping can land its parts by name); and whose name the models can carry as a column
(`vars.dimension_name_pattern`, not a reserved SQL keyword, not a name the
facts or the root-cause cube already use, and read back as itself from the
var's YAML). A field whose name has other characters (an OpenTelemetry attribute,
`tenant.id`) is proposed under its letters and digits joined by underscores
(`tenant_id`), and `--write` maps that name to the field in
`analysis_dimensions.fields`; any other name stays in raw, with the reason (a log
shape's mapping can land it under another name, `{extra: name}`). A field whose
value the call's outcome as delivered tells (status, status code, reason: 99% of
records, and 90% of those off its commonest value), such as a gateway's error
message, describes the failure, not where calls go: sliced by it, every value but
the success one fails 100% of the time; it is not proposed, and stays listed if
listed by hand. So does a field whose value and the API tell each other (a span's
name beside its route, a load balancer's target group per API): it repeats api_name.
The API is the facts' once the warehouse is built (a route as its template), else the
name, method and route as delivered. `--write`
replaces `analysis_dimensions.extra` in dbt_project.yml with the candidates (plus any already listed that still
occur), which fct_call_dimensions, agg_failure_rate_by_dimension and the
dashboards read. High-cardinality fields stay in raw.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass

import duckdb
import yaml

from api_trust.contract import PROJECT_ROOT, db_path, project_vars
from api_trust.warehouse import connect, run_cli

# whole numbers (an id, a count, a port), UUIDs, long hex and our hashes; not a decimal,
# which can be a version as well as a measure (2.0, 0.085)
ID_LIKE = r"^([0-9]+|[0-9a-fA-F-]{16,}|pii_[a-p]{32}|ip_[a-p]{32}|rec_.*)$"


@dataclass(frozen=True)
class Field:
    name: str
    rows: int
    distinct: int
    id_like_share: float
    examples: tuple[str, ...]
    # how far the call's outcome as delivered (status, status code, reason) tells the value:
    # the share of records whose value is the commonest of their outcome, and the share of
    # records with the field's commonest value overall
    outcome_modal_share: float = 0.0
    modal_share: float = 0.0
    # the same both ways with the API as delivered (name, method, route): the share of
    # records whose value is the commonest of their API, the share whose API is the
    # commonest of their value, and the share of records of the commonest API overall
    api_modal_share: float = 0.0
    value_api_share: float = 0.0
    api_share: float = 1.0
    # the share of values that are JSON objects or lists (a nested record delivered whole)
    structured_share: float = 0.0

    def follows_outcome(self) -> bool:
        """The value is told by the outcome far beyond its commonest value: an error message
        describes a failure, it is not where calls go. Slicing by it makes every value but
        the success one fail 100% of the time."""
        return tells(self.outcome_modal_share, self.modal_share)

    def copies_api(self) -> bool:
        """The API tells the value and the value tells the API (a span's name, `POST
        /v1/pan/verify`, beside its route): slicing by it repeats api_name under another
        name. A field that groups APIs (a service) or splits one (an operation) is no copy."""
        return tells(self.api_modal_share, self.modal_share) and tells(
            self.value_api_share, self.api_share
        )

    def is_candidate(self, max_values: int) -> bool:
        return (
            2 <= self.distinct <= max_values
            and self.distinct < 0.5 * self.rows
            and self.id_like_share < 0.5
            and self.structured_share < 0.5
        )


def tells(share: float, base: float) -> bool:
    """One thing tells another: 99% of records carry the value commonest for what they
    have, and 90% of those off the commonest value overall (`base`) do."""
    gain = (share - base) / max(1.0 - base, 1e-12)
    return share >= 0.99 and gain >= 0.9


def column_name(field: str, pattern: str) -> str | None:
    """The name a field with no column name (an OpenTelemetry attribute, `tenant.id`) is
    sliced by: its runs of other characters as one underscore (`tenant_id`); the models
    then read the field under it (vars.analysis_dimensions.fields). None when that gives
    no name, or the field's own name is not one the models can write into a JSON path
    (vars.dimension_field_pattern: no quote or backslash)."""
    if not re.fullmatch(project_vars()["dimension_field_pattern"], field):
        return None
    name = re.sub(r"[^A-Za-z0-9_]+", "_", field).strip("_")
    return name if name != field and re.fullmatch(pattern, name) else None


def name_problem(name: str, pattern: str, taken: set[str], keywords: set[str]) -> str | None:
    """Why a field's name cannot be a dimension (None when it can). The models write a
    dimension as a column name and the var as YAML, so the name must be a plain identifier
    that no column of the facts or the cube already has and that YAML reads as itself
    (`on`, `no`, `null` would come back as a boolean or nothing)."""
    if not re.fullmatch(pattern, name):
        return f"its name is not a plain identifier ({pattern}); a mapping can rename it (extra:)"
    if name.lower() in keywords:
        return "its name is a reserved SQL keyword"
    if name.lower() in taken:
        return "its name is already a column of the facts or the root-cause cube, or a candidate's"
    try:
        if yaml.safe_load(f"[{name}]") != [name]:
            return "YAML would read its name as something else"
    except yaml.YAMLError:
        return "YAML cannot read its name"
    return None


def taken_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Column names of the facts and the root-cause cube, where the warehouse has them."""
    rows = con.execute("""
        select distinct lower(column_name) from information_schema.columns
        where (table_schema, table_name) in (('main', 'fct_api_calls'),
                                             ('intermediate', 'int_rca_leaves_counted'))
    """).fetchall()  # fmt: skip
    return {n for (n,) in rows}


def has_facts(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse has been built (main.fct_api_calls exists)."""
    return bool(con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'main' and table_name = 'fct_api_calls'"
    ).fetchone()[0])  # fmt: skip


def profile_fields(con: duckdb.DuckDBPyConnection) -> list[Field]:
    """Every extra field with its rows, distinct values, id-like share and a few values."""
    # the API a record is: the facts' (a route as its template, mapped to the catalogue)
    # once the warehouse is built, else as delivered (name, method, route); so a field one
    # to one with the API (a load balancer's target group) is a copy though its raw routes
    # hold ids
    delivered_api = ("concat_ws('|', raw.api_calls.api_name, raw.api_calls.http_method, "
                     "raw.api_calls.route)")  # fmt: skip
    api, facts = delivered_api, ""
    if has_facts(con):
        api = f"coalesce(facts.api_name, {delivered_api})"
        facts = ("left join main.fct_api_calls as facts on facts.batch_id = raw.api_calls.batch_id "
                 "and facts.source_record_no = raw.api_calls.source_record_no")  # fmt: skip
    rows = con.execute(
        f"""
        with entries as (
            -- json_each, not a JSON path built from the name: a name may hold any character
            select field.key as name, json_extract_string(field.value, '$') as value,
                   -- the outcome as delivered, whatever the shape names it with
                   concat_ws('|', raw.api_calls.status, raw.api_calls.status_code,
                             raw.api_calls.error_reason) as outcome,
                   {api} as api
            from raw.api_calls {facts}, json_each(raw.api_calls.extra_fields) as field
            where raw.api_calls.extra_fields is not null
        ),
        counted as (
            select name, outcome, api, value, count(*) as records
            from entries where value is not null group by all
        ),
        -- per field, the share of its records that carry the commonest value of one
        -- column, overall or given another
        {commonest_share_cte("value", "overall")},
        {commonest_share_cte("api", "apis")},
        {modal_share_cte("outcome", "value", "outcome_modal_share")},
        {modal_share_cte("api", "value", "api_modal_share")},
        {modal_share_cte("value", "api", "value_api_share")},
        profiled as (
            -- a record without the field can carry it as null (a reader fills every key):
            -- no value, so neither counted, nor id-like, nor an example
            select name, count(value) as records, count(distinct value) as distinct_values,
                   avg(case when regexp_matches(value, '{ID_LIKE}') then 1.0 else 0.0 end)
                       filter (where value is not null) as id_like_share,
                   (list(distinct value order by value) filter (where value is not null))[1:3]
                       as examples,
                   avg(case when left(ltrim(value), 1) in ('{{', '[') and json_valid(value)
                            then 1.0 else 0.0 end) filter (where value is not null)
                       as structured_share
            from entries group by name
        )
        select profiled.* exclude (structured_share), outcome_modal_share.share, overall.share,
               api_modal_share.share, value_api_share.share, apis.share, structured_share
        from profiled
        left join outcome_modal_share on profiled.name = outcome_modal_share.name
        left join overall on profiled.name = overall.name
        left join api_modal_share on profiled.name = api_modal_share.name
        left join value_api_share on profiled.name = value_api_share.name
        left join apis on profiled.name = apis.name
        order by profiled.name
        """
    ).fetchall()
    return [
        Field(n, r, d, s or 0.0, tuple(x or ()), om or 0.0, m or 0.0, am or 0.0, va or 0.0,
              1.0 if a is None else a, j or 0.0)
        for n, r, d, s, x, om, m, am, va, a, j in rows
    ]  # fmt: skip


def commonest_share_cte(column: str, cte: str) -> str:
    """A CTE `cte(name, share)` over `counted`: per field, the share of its records whose
    `column` has its commonest value."""
    return f"""{cte} as (
            select name, max(records) / sum(records) as share
            from (select name, {column}, sum(records) as records
                  from counted group by all) as by_value
            group by name
        )"""


def modal_share_cte(given: str, told: str, cte: str) -> str:
    """A CTE `cte(name, share)` over `counted`: per field, the share of its records whose
    `told` is the commonest of their `given` (1.0 when `given` tells `told` exactly)."""
    return f"""{cte} as (
            select name, sum(commonest) / sum(records) as share
            from (
                select name, {given}, max(records) as commonest, sum(records) as records
                from (select name, {given}, {told}, sum(records) as records
                      from counted group by all) as pairs
                group by all
            ) as by_given
            group by name
        )"""


def write_extra(names: list[str], fields: dict[str, str] | None = None) -> None:
    """Replace the `extra:` line of analysis_dimensions in dbt_project.yml, and its
    `fields:` line with the fields read under another name (comments kept)."""
    path = PROJECT_ROOT / "dbt_project.yml"
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(
        r"(?m)^(\s+extra: )\[.*\]$", lambda m: m.group(1) + "[" + ", ".join(names) + "]", text
    )
    if n != 1:
        raise SystemExit("error: cannot find `extra: [...]` under analysis_dimensions")
    # JSON is YAML: a field's name is written quoted, whatever its characters
    mapping = json.dumps(dict(sorted((fields or {}).items())), ensure_ascii=False)
    new, n = re.subn(r"(?m)^(\s+fields: )\{.*\}$", lambda m: m.group(1) + mapping, new)
    if n != 1 and fields:
        raise SystemExit("error: cannot find `fields: {...}` under analysis_dimensions")
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m api_trust.dimensions", description=__doc__)
    p.add_argument("--write", action="store_true", help="write the candidates to the var")
    args = p.parse_args(argv)

    def _run() -> None:
        dims = project_vars()["analysis_dimensions"]
        max_values = int(project_vars().get("max_dimension_values", 1000))
        pattern = project_vars()["dimension_name_pattern"]
        con = connect(db_path(), read_only=True)
        try:
            fields = profile_fields(con)
            # names the warehouse has as columns, lower-cased, less the listed extras (any case)
            taken = taken_names(con) - {name.lower() for name in dims["extra"]}
            # unreserved keywords (`version`, `type`, `source`) are column names like any other
            keywords = {k for (k,) in con.execute(
                "select keyword_name from duckdb_keywords() where keyword_category <> 'unreserved'"
            ).fetchall()}  # fmt: skip
        finally:
            con.close()
        chosen, renamed = [], {}
        listed_fields = dims.get("fields") or {}
        for f in fields:
            # a field with no column name is sliced under one of its own letters (tenant.id
            # as tenant_id), which the models read it by (vars.analysis_dimensions.fields)
            name = f.name
            if not re.fullmatch(pattern, f.name) and (derived := column_name(f.name, pattern)):
                name = derived
            problem = name_problem(name, pattern, taken, keywords)
            listed = name in dims["extra"] and listed_fields.get(name, name) == f.name
            said = None
            if problem is None and f.follows_outcome():
                said = (f"its value follows the call's status or reason ({f.outcome_modal_share:.0%} "
                        "of records): it describes the outcome, not where calls go")  # fmt: skip
            elif problem is None and f.copies_api():
                said = (f"its value and the API tell each other ({f.api_modal_share:.0%} and "
                        f"{f.value_api_share:.0%} of records): it repeats api_name")  # fmt: skip
            # listed by hand, a field such rules leave out stays listed: the rules
            # propose, the team decides
            ok = listed if said else f.is_candidate(max_values) and problem is None
            if ok:  # a column name is one whatever its case: the first of such names only
                taken.add(name.lower())
            if said:
                mark = (f"kept as listed, though {said}" if ok else f"stays in raw: {said}; list it "
                        "in vars.analysis_dimensions.extra by hand if it is a cause")  # fmt: skip
            else:
                if problem is None and f.structured_share >= 0.5:
                    problem = (f"its values are JSON objects or lists ({f.structured_share:.0%}): a "
                               "shape's mapping can land a part of them by name "
                               "(`resource.labels.x: {extra: name}`)")  # fmt: skip
                mark = "candidate" if ok else "stays in raw" + (f": {problem}" if problem else "")
            if ok and name != f.name:
                mark += f" as {name} (analysis_dimensions.fields: {name}: {f.name})"
            print(f"dimensions: {f.name}: {f.rows:,} values, {f.distinct:,} distinct, "
                  f"{f.id_like_share:.0%} id-like -> {mark}{' (listed)' if listed else ''}; "
                  f"e.g. {', '.join(f.examples)}")  # fmt: skip
            if ok:
                chosen.append(name)
                if name != f.name:
                    renamed[name] = f.name
        print(f"dimensions: {len(chosen)} candidate(s) of {len(fields)} extra field(s)")
        if args.write:
            write_extra(sorted(chosen), renamed)
            print(f"dimensions: wrote analysis_dimensions.extra = {sorted(chosen)}"
                  + (f" and fields = {dict(sorted(renamed.items()))}" if renamed else "")
                  + "; run make build")  # fmt: skip

    run_cli(_run)


if __name__ == "__main__":
    main()
