"""Write dashboards/insights.md: headline KPIs, SLO status, conversion and ranked findings.

    python -m api_trust.report          (make report)

The report reads marts only (fct_api_calls for the window and volume, then
agg_slo_status, agg_conversion_by_region, agg_conversion_by_document_type,
agg_failure_rate_by_dimension and rca_findings), with the warehouse opened
read-only and closed before anything is written. Every number in it comes from a
mart, so the prose and the dashboards never disagree; what the logs lack (a field
no API call carries, calls that are not API traffic, calls without a latency) and
the extra dimensions' values come from the dashboard's own queries
(api_trust.dashboard.marts), so the page and the report leave out the same
things. The wording per finding type lives here because a product reader wants
"PAN_OCR fails more in Rural", not `failure_segment`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from api_trust.contract import dashboards_dir, project_vars
from api_trust.dashboard.marts import (
    EXTRA_DIMENSIONS,
    REGION_ORDER,
    field_word,
    read_marts,
    traffic_word,
)
from api_trust.warehouse import WarehouseError, connect, run_cli

Row = dict[str, Any]

TOP_FINDINGS = 10
# what counts against availability (vars.availability_failure_classes), in words
AVAILABILITY_TEXT = ", ".join(
    c.replace("_", " ") for c in project_vars()["availability_failure_classes"]
)
TOP_SLO_ROWS = 8
# an SLO is breached only with at least this many bad calls (vars.slo_min_bad_calls)
SLO_MIN_BAD_CALLS = project_vars()["slo_min_bad_calls"]
REQUIRED_MARTS = (
    "fct_api_calls",
    "fct_verifications",
    "agg_slo_status",
    "agg_conversion_by_region",
    "agg_conversion_by_document_type",
    "rca_findings",
    "agg_failure_rate_by_dimension",
)
NO_VALUE = "unknown"  # the marts' value for "the log did not say"
# the fields the report's figures are about (latency has a line of its own)
REPORTED_FIELDS = ("verification_id", "region", "document_type", *EXTRA_DIMENSIONS)
TIER_TITLES = {
    "change": "new",
    "hotspot": "chronic hotspot",
    "api_health": "API-wide health",
}


@dataclass(frozen=True)
class Insights:
    """Everything the report says, as plain rows fetched from the marts."""

    headline: Row
    slo_counts: dict[str, int]
    slo_rows: list[Row]
    regions: list[Row]
    documents: list[Row]
    findings: list[Row]
    findings_by_tier: dict[str, int]
    coverage: dict[str, Row]  # field -> calls with a value, API calls, is_missing
    left_out: list[Row]  # calls that are not API traffic, by class
    extra_values: dict[str, list[Row]]  # extra dimension -> its values as the page shows them

    def is_missing(self, field: str) -> bool:
        return bool(self.coverage.get(field, {}).get("is_missing"))


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, values, strict=True)) for values in cur.fetchall()]


def load_insights(con: duckdb.DuckDBPyConnection) -> Insights:
    """Query the marts; fail with a clear message when the warehouse was not built."""
    present = {
        r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
    }
    missing = [m for m in REQUIRED_MARTS if m not in present]
    if missing:
        raise WarehouseError(f"the warehouse has no {', '.join(missing)}: run `make build` first")
    headline = _rows(con, """
        select
            (select count(*) from fct_api_calls where is_api_traffic is not false) as calls,
            (select min(called_at) from fct_api_calls) as window_start_at,
            (select max(called_at) from fct_api_calls) as window_end_at,
            (select count(*) from fct_verifications) as verifications,
            (select avg(case when first_attempt_passed then 1.0 else 0.0 end) from fct_verifications)
                as first_attempt_pass_rate,
            (select avg(case when eventually_passed then 1.0 else 0.0 end) from fct_verifications)
                as eventual_pass_rate,
            (select avg(case when is_success then 1.0 else 0.0 end) from fct_api_calls
             where is_api_traffic is not false) as call_success_rate,
            (select 1 - sum(bad_calls) * 1.0 / nullif(sum(eligible_calls), 0) from agg_slo_status)
                as availability
    """)[0]  # fmt: skip
    slo_counts = dict(
        con.execute("select status, count(*) from agg_slo_status group by status").fetchall()
    )
    slo_rows = _rows(con, f"""
        select api_name, owner_team, status, availability, availability_target, budget_consumed,
               alert_severity, latency_good_rate, latency_target, eligible_calls, bad_calls
        from agg_slo_status
        where status <> 'ok'
        order by case status when 'breached' then 0 else 1 end,
                 (bad_calls - error_budget_calls) desc, api_name
        limit {TOP_SLO_ROWS}
    """)  # fmt: skip
    regions = _rows(con, "select * from agg_conversion_by_region")
    order = {r: i for i, r in enumerate(REGION_ORDER)}
    regions.sort(key=lambda r: (order.get(r["region"], len(order)), r["region"]))
    documents = _rows(
        con,
        "select * from agg_conversion_by_document_type"
        # weakest first: the one surest to pass least (lowest upper bound), not the lowest
        # rate, which a document type of 19 verifications led
        f" where document_type <> '{NO_VALUE}' order by eventual_pass_rate_ci_upper, eventual_pass_rate",
    )
    findings = _rows(con, f"select * from rca_findings order by finding_rank limit {TOP_FINDINGS}")
    by_tier = dict(
        con.execute("select finding_tier, count(*) from rca_findings group by 1").fetchall()
    )
    # the page's own queries: the same rule decides what is missing and what is left out
    read = read_marts(con, ("coverage", "left_out", "extra_values"))
    coverage = {r["field"]: r for r in _frame_rows(read.get("coverage"))}
    extra: dict[str, list[Row]] = {d: [] for d in EXTRA_DIMENSIONS}
    for r in _frame_rows(read.get("extra_values")):
        extra.setdefault(r["dimension"], []).append(r)
    return Insights(
        headline, slo_counts, slo_rows, regions, documents, findings, by_tier,
        coverage, _frame_rows(read.get("left_out")), extra,
    )  # fmt: skip


def _frame_rows(frame: pd.DataFrame | None) -> list[Row]:
    """Rows of a dashboard query's frame, pandas' missing values as None, numbers as Python's."""
    if frame is None:
        return []
    return [
        {k: None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def cell(text: Any) -> str:
    """A value as one markdown table cell (a `|` in a delivered value must not split it)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


# How a segment's dimensions read in a sentence; any other dimension reads "with dim value".
DIMENSION_PHRASES = {
    "region": "in {}",
    "document_type": "on {} documents",
    "client_type": "for {} clients",
    "client_id": "for client {}",
    "api_version": "on {}",
}


def segment_phrase(segment: str | None) -> tuple[str | None, str]:
    """The API a segment names (or None) and the rest of it in words, every dimension kept."""
    api, words = None, []
    for part in (segment or "").split(", "):
        if "=" not in part:
            continue
        dim, value = part.split("=", 1)
        if dim == "api_name":
            api = value
        else:
            phrase = DIMENSION_PHRASES.get(dim, f"with {dim.replace('_', ' ')} {{}}")
            words.append(phrase.format(value))
    return api, " ".join(words)


def finding_title(f: Row) -> str:
    """The finding in product words: what is wrong, where (every dimension of its segment)."""
    kind = f["finding_type"]
    api, where = segment_phrase(f.get("segment"))
    api = api or f.get("api_name")
    # a finding across APIs whose excess one API's calls mostly carry (its owner has it)
    carrier = None if api else f.get("carrying_api_name")
    subject = f"{api} calls" if api else f"Calls (mostly {carrier})" if carrier else "Calls"
    window = (
        f" from {str(f['started_at'])[:16]} to {str(f['ended_at'])[:16]} UTC"
        if f.get("started_at") and f.get("ended_at")
        else ""
    )
    related = " (and related segments, same cause)" if f.get("related_segments") else ""
    if kind == "failure_segment":
        return f"{subject} fail more {where}{related}".replace("  ", " ").strip()
    if kind == "slow_calls":
        return f"{subject} are slower {where}{related}".replace("  ", " ").strip()
    if kind == "version_regression":
        what = "is slower" if f["metric"] == "slow_call_share" else "fails more"
        return f"{api} {f['api_version']} {what} than the version before"
    if kind == "incident":
        return f"Incident: {subject} {where}{window}".replace("  ", " ").strip()
    if kind == "traffic_drop":
        return f"{api} traffic dropped{window}"
    if kind == "slo_breach":
        return f"{api} is below its availability SLO"
    return f"{kind}: {f['segment']}"


def share_text(f: Row) -> str:
    """The finding's share of the total impact, when the mart has it."""
    share = f.get("share_of_excess")
    return "" if share is None else f"{pct(share, 0)} of the total impact; "


def window_text(headline: Row) -> str:
    """The data window, or plainly that there is none (a warehouse without calls)."""
    if headline["window_start_at"] is None:
        return "No calls in the warehouse yet (load logs with `make load`, then `make build`)"
    start, end = str(headline["window_start_at"])[:16], str(headline["window_end_at"])[:16]
    return f"Data window {start} to {end} UTC"


def render_insights(data: Insights, generated_at: datetime) -> str:
    """The markdown report (pure: same insights, same text)."""
    h = data.headline
    lines = [
        "# Insights: KYC API platform",
        "",
        f"{window_text(h)}; generated {generated_at:%Y-%m-%d %H:%M} from the marts (`make report`).",
        "",
        "## Headline",
        "",
        *headline_conversion(data),
        *left_out_lines(data),
        f"- Platform availability ({AVAILABILITY_TEXT} failures only) **{pct(h['availability'], 2)}**.",
        "- SLO status: " + ", ".join(f"{data.slo_counts.get(s, 0)} {s}" for s in ("breached", "at_risk", "ok"))
        + " APIs.",
        f"- Findings: {data.findings_by_tier.get('change', 0)} new (changed within the window), "
        f"{data.findings_by_tier.get('hotspot', 0)} chronic hotspots in a segment of traffic, "
        f"{data.findings_by_tier.get('api_health', 0)} API-wide (SLO breaches, heavy latency tails).",
        "",
        "## SLO status",
        "",
        f"Availability counts only {AVAILABILITY_TEXT} failures; client input and fraud "
        "decisions are conversion losses. An SLO is breached only beyond doubt: at least "
        f"{SLO_MIN_BAD_CALLS} bad calls and the 95% bound of the bad-call rate above the budget; "
        "over budget within noise is at risk. Alert: the page or ticket that would be firing at the "
        "end of the data (agg_slo_alerts_replayed has every alert of the history). "
        "The APIs with the most bad calls over budget first:",
        "",
        "| API | Owner | Status | Bad calls | Availability | Target | Budget used | Alert | Latency good |",
        "|---|---|---|---:|---:|---:|---:|---|---:|",
    ]  # fmt: skip
    for r in data.slo_rows:
        lines.append(
            f"| {r['api_name']} | {r['owner_team']} | {r['status']} | "
            f"{num(r['bad_calls'])} of {num(r['eligible_calls'])} | {pct(r['availability'], 2)} | "
            f"{pct(r['availability_target'], 1)} | {pct(r['budget_consumed'], 0)} | {r['alert_severity'] or '-'} | "
            f"{pct(r['latency_good_rate'])} |"
        )
    if not data.slo_rows:
        nothing = (
            "every API is within its SLO"
            if data.slo_counts
            else "no API with an availability target has calls"
        )
        lines.append(f"| {nothing} | | ok | | | | | | |")
    lines += ["", "## Conversion", ""]
    if data.is_missing("verification_id"):
        lines.append(missing_line(data, ["verification_id"], "conversion"))
    else:
        lines += conversion_lines(data)
    lines += extra_dimension_lines(data)
    lines += ["", f"## Top {len(data.findings)} findings", ""]
    lines.append(
        "Ranked by impact: excess failed calls, a slow call counting half, projected over the "
        "whole window from the day a new problem started. Every finding passed one "
        "Benjamini-Hochberg pass over all candidate findings and an effect-size floor, and is "
        "routed to the owning team."
    )
    lines.append("")
    for f in data.findings:
        lines += [
            f"{f['finding_rank']}. **{finding_title(f)}** ({TIER_TITLES.get(f['finding_tier'], f['finding_tier'])}; "
            f"{share_text(f)}owner: {f['owner_team']})",
            f"   - Evidence: {f['evidence']}",
            f"   - Do: {f['recommendation']}",
        ]  # fmt: skip
    if not data.findings:
        lines.append("No significant finding: nothing fails more than its baseline beyond chance.")
    lines.append("")
    return "\n".join(lines)


def headline_conversion(data: Insights) -> list[str]:
    """Volume and conversion; without verification ids, call success only (no conversion)."""
    h = data.headline
    if data.is_missing("verification_id"):
        return [
            f"- **{num(h['calls'])} API calls**; {pct(h['call_success_rate'])} of them succeed "
            "(no verification id in these logs, so no conversion)."
        ]
    return [
        f"- **{num(h['calls'])} API calls** from **{num(h['verifications'])} end-user verifications**.",
        f"- **{pct(h['first_attempt_pass_rate'])}** of users pass at the first attempt, "
        f"**{pct(h['eventual_pass_rate'])}** eventually (after retries); "
        f"{pct(h['call_success_rate'])} of calls succeed: call-level rates understate conversion "
        "when failed inputs are retried.",
    ]  # fmt: skip


def missing_line(data: Insights, fields: list[str], what: str) -> str:
    """The one line that replaces a figure whose field no API call carries."""
    words = " or ".join(field_word(f) for f in fields)
    return f"No {words} in these logs: {what} is left out."


def left_out_lines(data: Insights) -> list[str]:
    """What every figure leaves out, one line each and only when there is some."""
    lines = []
    non_api = sum(r["calls"] for r in data.left_out)
    if non_api:
        classes = ", ".join(
            f"{traffic_word(r['traffic_class'])} {num(r['calls'])}" for r in data.left_out
        )
        lines.append(
            f"- {num(non_api)} calls are not API traffic and are left out of every figure: {classes}."
        )
    latency = data.coverage.get("latency_ms")
    if latency and latency["api_calls"] > latency["calls_with_value"]:
        without = latency["api_calls"] - latency["calls_with_value"]
        lines.append(
            f"- No API call carries a latency ({num(without)} calls): latency figures are left out."
            if latency["is_missing"]
            else f"- {num(without)} of {num(latency['api_calls'])} API calls carry no latency: "
            "left out of latency figures."
        )
    missing = [f for f in REPORTED_FIELDS if data.is_missing(f)]
    if missing:
        lines.append(
            f"- Not in these logs: {', '.join(map(field_word, missing))}; figures by them are left out."
        )
    return lines  # fmt: skip


def extra_dimension_lines(data: Insights) -> list[str]:
    """Failure rate by each extra dimension (fields of the team's logs, vars.analysis_dimensions.extra):
    the values whose failure interval lies wholly above the other values' rate, as the page marks them."""
    lines = ["", "## Extra dimensions"] if data.extra_values else []
    for dim, rows in data.extra_values.items():
        word = field_word(dim)
        if data.is_missing(dim) or not rows:
            lines += ["", f"No {word} in these logs: failure rate by {word} is left out."]
            continue
        first, api_calls = rows[0], data.coverage.get(dim, {}).get("api_calls")
        share = f" ({pct(first['dimension_calls'] / api_calls)} of API calls)" if api_calls else ""
        lines += [
            "",
            (
                f"**{word}**: {num(first['dimension_values'])} values on {num(first['dimension_calls'])} API calls{share}; "
                f"{pct(first['dimension_failures'] / first['dimension_calls'])} of them fail."
            ),
        ]
        above = [r for r in rows if r["is_above_others"]]
        lines += [
            f"- {cell(r['dimension_value'])} fails more: {pct(r['failure_rate'])} (95% interval "
            f"{pct(r['failure_rate_ci_lower'])} to {pct(r['failure_rate_ci_upper'])}) vs "
            f"{pct(r['others_failure_rate'])} on the other values, {num(r['calls'])} calls."
            for r in above
        ] or [f"- No {word} value fails more than the other values beyond chance."]
        lines += ["", f"| {word} | Calls | Failure rate | 95% interval |", "|---|---:|---:|---|"]
        lines += [
            f"| {cell(r['dimension_value'])} | {num(r['calls'])} | {pct(r['failure_rate'])} | "
            f"{pct(r['failure_rate_ci_lower'])} to {pct(r['failure_rate_ci_upper'])} |"
            for r in rows
        ]
        if len(rows) < first["dimension_values"]:
            shown = f"The {len(rows)} of {num(first['dimension_values'])} values above the rest or with most calls."
            lines += ["", shown]
    return lines  # fmt: skip


# regions compared with the best in the conversion section, at most
REGIONS_COMPARED = 3


def conversion_lines(data: Insights) -> list[str]:
    """Conversion by region (where do users pass least, and do retries rescue them?) and the
    weakest document types, each compared by its 95% interval, never by a name."""
    regions, documents = data.regions, data.documents
    lines = ["Measured on verifications (all attempts of one user), not calls.", ""]
    carried = data.coverage.get("verification_id")
    if carried and carried["api_calls"] > carried["calls_with_value"]:
        without = carried["api_calls"] - carried["calls_with_value"]
        lines += [f"{num(without)} API calls carry no verification id: each counts as a verification of its own.", ""]  # fmt: skip
    if data.is_missing("region"):
        lines.append(missing_line(data, ["region"], "conversion by region"))
        regions = []
    else:
        unplaced = sum(r["verifications"] for r in regions if r["region"] == NO_VALUE)
        regions = [r for r in regions if r["region"] != NO_VALUE]
        if unplaced:
            lines += [
                f"{num(unplaced)} verifications without a region are left out of the table.",
                "",
            ]
        lines += [
            "| Region | Verifications | First attempt | Eventually | Rescued by retry | Call success | Time to verify p50 / p90 |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]  # fmt: skip
    for r in regions:
        secs = " / ".join("n/a" if v is None else f"{v:.1f} s"
                          for v in (r["p50_seconds_to_verify"], r["p90_seconds_to_verify"]))  # fmt: skip
        lines.append(
            f"| {r['region']} | {num(r['verifications'])} | {pct(r['first_attempt_pass_rate'])} | "
            f"{pct(r['eventual_pass_rate'])} | {pct(r['recovered_by_retry_rate'])} | "
            f"{pct(r['call_success_rate'])} | {secs} |"
        )
    # compared with the region surest to pass (highest lower bound): the regions surely
    # below it (upper bound under that), worst first, else the one least sure to pass. No
    # region is named in advance: a team's regions are its own, and a small one's rate alone
    # says little
    ranked = [r for r in regions if r["eventual_pass_rate_ci_lower"] is not None]
    if len(ranked) > 1:
        best = max(ranked, key=lambda r: r["eventual_pass_rate_ci_lower"])
        below = sorted((r for r in ranked if r["eventual_pass_rate_ci_upper"] < best["eventual_pass_rate_ci_lower"]),
                       key=lambda r: r["eventual_pass_rate_ci_upper"])  # fmt: skip
        compared = below[:REGIONS_COMPARED] or [
            min((r for r in ranked if r is not best), key=lambda r: r["eventual_pass_rate_ci_upper"])
        ]  # fmt: skip
        lines.append("")
        for r in compared:
            lines.append(
                f"- {r['region']}: {pct(r['first_attempt_pass_rate'])} pass at the first attempt vs "
                f"{pct(best['first_attempt_pass_rate'])} in {best['region']}; after retries "
                f"{pct(r['eventual_pass_rate'])} vs {pct(best['eventual_pass_rate'])} "
                + ("(the gap is beyond chance: the intervals do not overlap)." if r in below
                   else "(the intervals overlap: not a clear gap).")
            )  # fmt: skip
    if data.is_missing("document_type"):
        lines += ["", missing_line(data, ["document_type"], "conversion by document type")]
    elif documents:
        worst = documents[0]
        lines.append(
            f"- Weakest document type: {worst['document_type']}, {pct(worst['eventual_pass_rate'])} of "
            f"{num(worst['verifications'])} verifications pass eventually "
            f"({pct(worst['first_attempt_pass_rate'])} at the first attempt)."
        )
    return lines


def write_report(text: str, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "insights.md"
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    con = connect(read_only=True)
    try:
        data = load_insights(con)
    finally:
        con.close()
    path = write_report(render_insights(data, datetime.now()), dashboards_dir())
    print(f"report: {len(data.findings)} top findings, SLOs and conversion written to {path}")


if __name__ == "__main__":
    run_cli(main)
