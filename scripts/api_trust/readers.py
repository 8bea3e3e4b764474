"""Log shapes other than our CSV: what they are, how to tell them apart, how to read them.

A shape is a file in `log_shapes/` (one per known shape): its reader (csv,
jsonl, otlp, access_log, parquet), the keys that identify it, and which
delivered field becomes which contract column, with its unit and parser.
Adding a gateway is adding such a file. Reading stays in DuckDB (read_csv of
whole lines, json, regexp_extract, read_parquet): no Python loop per record.

Every reader leaves the same two scratch tables for the landing
(api_trust.ingest): `scan` (one row per record: c1..cN as text in the order of
`delivered`, record_no, source_line) and `rejects` (one row per line the reader
could not read, with its whole text). Physical lines are counted from the
file itself, so a line no reader produced anything for still shows up in the
batch's line reconciliation.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import yaml

from api_trust.contract import (
    PROJECT_ROOT,
    contract_target,
    log_columns,
    project_vars,
)
from api_trust.landing import quote_ident, sql_value
from api_trust.warehouse import WarehouseError

SHAPES_DIR = PROJECT_ROOT / "log_shapes"
# %h %l %u %t "%r" %>s %b: the common log format, the start of every access-log pattern
# below; then "%{Referer}i" "%{User-Agent}i": the combined format, the start of the line
# patterns of ingress-nginx and Traefik (the access log's has referer and user agent
# optional), and its fields under nginx's names
COMMON_PREFIX = r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "([^"]*)" ([0-9]{3}|-) ([0-9]+|-)'
COMBINED_PREFIX = COMMON_PREFIX + r' "([^"]*)" "([^"]*)"'
COMBINED_GROUPS = ("remote_addr", "ident", "remote_user", "time_local", "request", "status",
                   "body_bytes_sent", "http_referer", "http_user_agent")  # fmt: skip
# %h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-Agent}i"] [timings...]
ACCESS_LOG_PATTERN = COMMON_PREFIX + (
    # referer and user agent (a user agent cut off at the end of the line still reads);
    # a quote escaped inside them (\") makes the line a reject: about 4x faster than
    # allowing escapes, and nothing is lost
    r'(?: "([^"]*)" "([^"]*)(?:"|$))?'
    # nginx's default `main` format adds "$http_x_forwarded_for"
    r'(?: "([^"]*)")?'
    # nginx $request_time (s) and $upstream_response_time (s, "-" or a list), or %D (us)
    r"(?:\s+([0-9]+(?:\.[0-9]+)?|-))?(?:\s+([0-9.,: -]*[0-9-]))?\s*$"
)
ACCESS_LOG_GROUPS = [*COMBINED_GROUPS, "http_x_forwarded_for", "request_time",
                     "upstream_response_time"]  # fmt: skip
# ingress-nginx's default (the Kubernetes ingress controller): the combined format, then
# $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name]
# $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id;
# an upstream field is a list (", " between retries, " : " between internal redirects)
_UPSTREAM_LIST = r"([^ ,]+(?:(?:, | : )[^ ,]+)*)"
INGRESS_NGINX_PATTERN = (
    COMBINED_PREFIX + r" (\d+|-) ([0-9]+(?:\.[0-9]+)?|-) \[([^\]]*)\] \[([^\]]*)\]"
    rf" {_UPSTREAM_LIST} {_UPSTREAM_LIST} {_UPSTREAM_LIST} {_UPSTREAM_LIST} (\S+)\s*$"
)
INGRESS_NGINX_GROUPS = [*COMBINED_GROUPS, "request_length", "request_time",
                        "proxy_upstream_name", "proxy_alternative_upstream_name",
                        "upstream_addr", "upstream_response_length", "upstream_response_time",
                        "upstream_status", "req_id"]  # fmt: skip
REQUEST_PATTERN = r"^(\S+)\s+(\S+)(?:\s+(\S+))?$"
# Envoy's default access log (Envoy, Istio, Contour, Ambassador, Gloo), and Istio's, which adds
# three fields after the response flags and six at the end:
# [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
# %RESPONSE_FLAGS% [%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
# "%UPSTREAM_TRANSPORT_FAILURE_REASON%"] %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
# %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
# "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" [%UPSTREAM_CLUSTER% ...
# %ROUTE_NAME%]
ENVOY_PATTERN = (
    r'^\[([^\]]+)\] "([^"]*)" ([0-9]+|-) (\S+)(?: (\S+) (\S+) "([^"]*)")?'
    r' ([0-9]+|-) ([0-9]+|-) ([0-9]+|-) (\S+) "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)"'
    r"(?: (\S+) (\S+) (\S+) (\S+) (\S+) (\S+))?\s*$"
)
ENVOY_GROUPS = ["start_time", "request", "response_code", "response_flags",
                "response_code_details", "connection_termination_details",
                "upstream_transport_failure_reason", "bytes_received", "bytes_sent", "duration",
                "upstream_service_time", "x_forwarded_for", "user_agent", "x_request_id",
                "authority", "upstream_host", "upstream_cluster", "upstream_local_address",
                "downstream_local_address", "downstream_remote_address",
                "requested_server_name", "route_name"]  # fmt: skip

# An AWS Application Load Balancer's access log: type time elb client:port target:port
# request_processing_time target_processing_time response_processing_time (seconds, -1 when
# not measured) elb_status_code target_status_code received_bytes sent_bytes "request"
# "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
# "chosen_cert_arn" matched_rule_priority request_creation_time "actions_executed"
# "redirect_url" "error_reason" "target:port_list" "target_status_code_list"
# "classification" "classification_reason" conn_trace_id; fields AWS adds later at the end
# are read over. The request's URL is absolute (`https://host:443/path`).
ALB_PATTERN = (
    r"^(https?|h2|grpcs?|wss?) ([0-9]{4}-[0-9]{2}-[0-9]{2}T\S+) (\S+) (\S+?)(?::([0-9]+))? (\S+)"
    r" ((\S+) (\S+) (\S+)) ([0-9]{3}|-) ([0-9]{3}|-) ([0-9]+|-) ([0-9]+|-)"
    r' "([^"]*)" "([^"]*)" (\S+) (\S+) (\S+)'
    r'(?: "([^"]*)" "([^"]*)" "([^"]*)" (\S+) (\S+) "([^"]*)" "([^"]*)" "([^"]*)"'
    r'(?: "([^"]*)" "([^"]*)")?(?: "([^"]*)" "([^"]*)")?(?: (\S+))?)?(?: .*)?$'
)
ALB_GROUPS = ["type", "time", "elb", "client", "client_port", "target", "processing_times",
              "request_processing_time", "target_processing_time", "response_processing_time",
              "elb_status_code", "target_status_code", "received_bytes", "sent_bytes", "request",
              "user_agent", "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id",
              "domain_name", "chosen_cert_arn", "matched_rule_priority", "request_creation_time",
              "actions_executed", "redirect_url", "error_reason", "target_list",
              "target_status_code_list", "classification", "classification_reason",
              "conn_trace_id"]  # fmt: skip
# HAProxy's HTTP log (option httplog), after a syslog prefix when there is one:
# client_ip:port [accept_date] frontend backend/server TR/Tw/Tc/Tr/Ta status bytes_read
# request_cookie response_cookie termination_state actconn/feconn/beconn/srv_conn/retries
# srv_queue/backend_queue [{request headers}] [{response headers}] "request". Timers in
# milliseconds, -1 when the step did not happen; `+` before a value logged early (logasap).
# accept_date is the host's local time without an offset.
HAPROXY_PATTERN = (
    r"^(?:.*?: )?(\S+):([0-9]+) \[([0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9:.]+)\] (\S+) (\S+)/(\S+)"
    r" (-?[0-9]+)/(-?[0-9]+)/(-?[0-9]+)/(-?[0-9]+)/(\+?-?[0-9]+) (-?[0-9]+) (\+?-?[0-9]+)"
    r" (\S+) (\S+) (\S+) ([0-9]+)/([0-9]+)/([0-9]+)/([0-9]+)/(\+?[0-9]+) ([0-9]+)/([0-9]+)"
    r'(?: \{([^}]*)\})?(?: \{([^}]*)\})? "([^"]*)"?\s*$'
)
HAPROXY_GROUPS = ["client_ip", "client_port", "accept_date", "frontend_name", "backend_name",
                  "server_name", "time_request", "time_queue", "time_connect", "time_response",
                  "time_active", "status_code", "bytes_read", "captured_request_cookie",
                  "captured_response_cookie", "termination_state", "actconn", "feconn",
                  "beconn", "srv_conn", "retries", "srv_queue", "backend_queue",
                  "captured_request_headers", "captured_response_headers", "request"]  # fmt: skip
# Traefik's access log in its default (common) format: the combined format, then the number
# of requests since Traefik started, "router name" "server URL" and the duration, `15ms`.
TRAEFIK_PATTERN = COMBINED_PREFIX + r' ([0-9]+|-) "([^"]*)" "([^"]*)" ([0-9]+ms)\s*$'
TRAEFIK_GROUPS = ["client_host", "ident", "client_username", "start_local", "request",
                  "downstream_status", "downstream_content_size", "referer", "user_agent",
                  "request_count", "router_name", "service_url", "duration"]  # fmt: skip


@dataclass(frozen=True)
class LinePattern:
    """A text log read line by line with one regular expression: its groups' names (one of
    them the request line, split into method, path and protocol) and the group a line
    that matches always fills."""

    pattern: str
    groups: tuple[str, ...]
    always: str
    format_name: str


LINE_PATTERNS = {
    "access_log": LinePattern(ACCESS_LOG_PATTERN, tuple(ACCESS_LOG_GROUPS), "time_local",
                              "access-log"),
    "envoy": LinePattern(ENVOY_PATTERN, tuple(ENVOY_GROUPS), "start_time", "Envoy access-log"),
    "ingress_nginx": LinePattern(INGRESS_NGINX_PATTERN, tuple(INGRESS_NGINX_GROUPS), "time_local",
                                 "ingress-nginx access-log"),
    "aws_alb": LinePattern(ALB_PATTERN, tuple(ALB_GROUPS), "time", "AWS ALB access-log"),
    "haproxy": LinePattern(HAPROXY_PATTERN, tuple(HAPROXY_GROUPS), "accept_date",
                           "HAProxy HTTP log"),
    "traefik": LinePattern(TRAEFIK_PATTERN, tuple(TRAEFIK_GROUPS), "start_local",
                           "Traefik access-log"),
}  # fmt: skip


@dataclass(frozen=True)
class FieldMap:
    """One mapping entry: the contract column a field lands in (`column`), or the name a
    field outside the contract lands under in extra_fields (`extra`): an OTel attribute
    such as `deployment.environment` as `deployment_environment`, a name the models can
    carry as an analysis dimension (vars.dimension_name_pattern)."""

    column: str | None = None
    parser: str = "text"
    unit: str | None = None
    fallback: bool = False
    extra: str | None = None


@dataclass(frozen=True)
class Shape:
    name: str
    reader: str
    description: str
    detect: tuple[str, ...] = ()
    fields: Mapping[str, FieldMap] = field(default_factory=dict)


def _field_map(path: Path, name: str, spec: object) -> FieldMap:
    """One mapping entry, or one clear error naming the file and the field."""
    try:
        fm = FieldMap(**spec) if isinstance(spec, dict) else None
    except TypeError as err:  # a key FieldMap does not know (`colum:`)
        raise WarehouseError(f"{path}: field {name!r}: {err}") from None
    if fm is None or (fm.column is None) == (fm.extra is None):
        raise WarehouseError(f"{path}: field {name!r} needs `column:` or `extra:` (one of them)")
    # a misspelt parser or unit would land the delivered text unparsed, silently
    if fm.parser not in PARSERS:
        raise WarehouseError(
            f"{path}: field {name!r}: unknown parser {fm.parser!r} (known: {', '.join(sorted(PARSERS))})"
        )
    if fm.unit is not None and fm.unit not in (*UNIT_FACTORS, *AUTO_UNITS):
        raise WarehouseError(
            f"{path}: field {name!r}: unknown unit {fm.unit!r} (known: {', '.join(UNIT_FACTORS)})"
        )
    if fm.extra is not None:
        # the name is what a renamed field is for: one the models can carry as a dimension
        pattern = project_vars()["dimension_name_pattern"]
        if not isinstance(fm.extra, str) or not re.fullmatch(pattern, fm.extra):
            raise WarehouseError(
                f"{path}: field {name!r}: `extra: {fm.extra}` is not a plain identifier ({pattern})"
            )
        contract = {c.name.lower(): c.name for c in log_columns()}
        if fm.extra.lower() in contract:
            raise WarehouseError(
                f"{path}: field {name!r}: `extra: {fm.extra}` is a contract column; "
                f"map the field with `column: {contract[fm.extra.lower()]}` instead"
            )
    return fm


@cache
def shapes() -> dict[str, Shape]:
    """Every known shape, from log_shapes/*.yml."""
    out = {}
    for path in sorted(SHAPES_DIR.glob("*.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        fields = {k: _field_map(path, k, v) for k, v in (spec.get("fields") or {}).items()}
        out[spec["shape"]] = Shape(spec["shape"], spec["reader"], spec["description"],
                                   tuple(spec.get("detect") or ()), fields)  # fmt: skip
    return out


def known_shapes_text() -> str:
    return "; ".join(f"{s.name} ({s.description})" for s in shapes().values())


def _has_path(obj: object, dotted: str) -> bool:
    if isinstance(obj, dict) and dotted in obj:
        return True
    head, _, rest = dotted.partition(".")
    return bool(rest) and isinstance(obj, dict) and _has_path(obj.get(head), rest)


def detect_shape(first_line: str, is_parquet: bool = False) -> Shape:
    """The shape of a file from its first non-blank line (or its Parquet magic)."""
    known = shapes()
    if is_parquet:
        return known["parquet"]
    text = first_line.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            candidates = [s for s in known.values() if s.reader in ("jsonl", "otlp") and s.detect]
            for shape in sorted(candidates, key=lambda s: -len(s.detect)):
                if all(_has_path(obj, key) for key in shape.detect):
                    return shape
            return known["jsonl"]
    if re.match(W3C_DIRECTIVE, text):
        return next(s for s in known.values() if s.reader == "w3c")
    for shape in known.values():
        if shape.reader in LINE_PATTERNS and re.match(LINE_PATTERNS[shape.reader].pattern, text):
            return shape
    return known["csv"]


# A directive line of the W3C extended log format (IIS, CloudFront): the file's first line.
W3C_DIRECTIVE = r"#(?:Version|Fields|Software|Date|Start-Date|End-Date|Remark):"


# A collector's envelope before each record, taken off before the record is read: a
# Kubernetes node's container log (CRI: `2026-11-01T10:00:00.123456789Z stdout F `) and a
# CloudWatch Logs export to S3 (`2026-11-01T10:00:00.000Z `). The name says it in the
# loader's note.
LINE_PREFIXES = {
    "Kubernetes container log (CRI)": (
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]+) (?:stdout|stderr) [FP] "
    ),
    "a timestamp (CloudWatch export)": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]+) ",
}


def detect_prefix(first_line: str) -> tuple[str, str, Shape] | None:
    """(name, pattern, shape of what follows) when the first line is a collector's prefix
    before a record of a known shape other than CSV; None otherwise."""
    text = first_line.strip()
    for name, pattern in LINE_PREFIXES.items():
        match = re.match(pattern, text)
        if match:
            shape = detect_shape(text[match.end() :])
            if shape.reader != "csv":
                return name, pattern, shape
    return None


def json_document(head: str) -> tuple[str, dict | None] | None:
    """Where the records are when a file is one JSON document, not JSON lines, and its first
    record when the file's first bytes (`head`) hold it whole: `$` for a top-level array
    (`gcloud logging read --format=json`, most exports), `$."key"` for an object whose one
    key holds the array (Azure's {"records": [...]}). None for JSON lines and anything else.

    A first line that is a whole object is JSON lines, unless it is such a wrapper that no
    shape knows (an OTLP export request, {"resourceSpans": [...]}, is a record of its own).
    """
    text = head.lstrip("\ufeff \t\r\n")
    decoder = json.JSONDecoder()
    if re.match(r"\[\s*\{", text):  # an array of objects (Envoy's lines start with `[` too)
        path, at = "$", 1
    else:
        first = text.split("\n", 1)[0]
        try:
            obj = json.loads(first)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            one = next(iter(obj.values()), None) if len(obj) == 1 else None
            if not isinstance(one, list) or detect_shape(first).name != "jsonl":
                return None
        match = re.match(r'\{\s*("(?:[^"\\]|\\.)*")\s*:\s*\[', text)
        if not match:
            return None
        path, at = "$." + match.group(1), match.end()
    while at < len(text) and text[at] in " \t\r\n,":
        at += 1
    try:
        record, _ = decoder.raw_decode(text, at)
    except ValueError:  # the first record is longer than the head, or not JSON
        record = None
    return path, record if isinstance(record, dict) else None


def read_json_document(
    con: duckdb.DuckDBPyConnection, path: Path, gzipped: bool, where: str, table: str
) -> None:
    """The records of a JSON document (json_document), one compact JSON text a row, into
    `table` as the line readers leave lines: a record's number is its place in the array."""
    compression = "gzip" if gzipped else "uncompressed"
    src = (f"read_json_objects({sql_value(str(path))}, format = '{{fmt}}', "
           f"compression = '{compression}', maximum_object_size = {1 << 30})")  # fmt: skip
    if where == "$":
        rows = (f"select cast(json(json) as varchar) as line, ordinality as line_no "
                f"from {src.format(fmt='array')} with ordinality")  # fmt: skip
    else:
        rows = (f"select cast(json(e.v) as varchar) as line, e.i as line_no "
                f"from (select json_extract(json, {_lit(where)}) as arr "
                f"from {src.format(fmt='unstructured')}) as d, "
                f"unnest(from_json(d.arr, '[\"json\"]')) with ordinality as e(v, i)")  # fmt: skip
    flags = "".join(f", {sql} as {name}" for name, sql in LINE_FLAGS["jsonl"].items())
    con.execute(f"create temp table {table} as select line, line_no, false as is_blank{flags}, "
                f"null::varchar as envelope from ({rows})")  # fmt: skip


# --------------------------------------------------------------------------- SQL pieces


# a NUL in a delivered name cannot stand in a query's text: sql_value spells it chr(0)
_lit = sql_value


def _list_lit(items: Iterable[str]) -> str:
    """A SQL list of string literals: ['a', 'b']."""
    return "[" + ", ".join(_lit(x) for x in items) + "]"


def _json_path(dotted: str) -> str:
    """JSONPath for a key that may itself contain dots (OTel names) or be nested."""
    return "$." + ".".join('"' + p.replace('"', '\\"') + '"' for p in dotted.split("."))


def _num(expr: str) -> str:
    return f"try_cast(nullif(trim({expr}), '-') as double)"


def _ts_text(expr: str) -> str:
    return f"strftime({expr}, '%Y-%m-%d %H:%M:%S.%f')"


UNIT_FACTORS = {"s": 1000.0, "ms": 1.0, "us": 0.001, "ns": 0.000001}
# Units decided per file (readers._auto_units): seconds when most values have a decimal point,
# else the other unit (nginx's $request_time against Apache's %D; CloudFront's time-taken
# against IIS's).
AUTO_UNITS = {"auto_s_or_us": "us", "auto_s_or_ms": "ms"}
UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds"}
# What parse_sql knows; `text` is the value as delivered.
PARSERS = frozenset({"text", "sum_list", "clf_time", "epoch_ns", "epoch_us", "epoch_ms",
                     "epoch_s", "duration", "ip_hash", "user_agent_family", "dash_is_null",
                     "first_value", "request_line", "lower", "otlp_span_kind"})  # fmt: skip
# Parsers whose output is ours (a hash, a family, a formatted timestamp, a span kind): no
# personal data can be in it, so the landing does not mask it again.
SAFE_PARSERS = frozenset({"ip_hash", "user_agent_family", "clf_time", "epoch_ns", "epoch_us",
                          "epoch_ms", "epoch_s", "otlp_span_kind"})  # fmt: skip


def parse_sql(fm: FieldMap, expr: str, key: str, unit: str | None = None) -> str:
    """SQL turning a delivered value (text) into the text the contract column lands as."""
    parser, unit = fm.parser, unit or fm.unit
    if parser == "sum_list":  # nginx upstream times: "0.050, 0.100" or "0.1 : 0.2" or "-"
        parts = f"string_split_regex(trim({expr}), '\\s*[,:]\\s*')"
        total = f"list_sum(list_transform({parts}, lambda p: try_cast(p as double)))"
        expr = f"cast(round({total}, 6) as varchar)"
    elif parser == "clf_time":
        # 17/May/2015:10:05:03 +0000 (also API Gateway's requestTime); HAProxy writes
        # milliseconds and no offset (its host's local time: read as UTC, as every time
        # without a zone is)
        zoned = (f"try_strptime(trim({expr}), ['%d/%b/%Y:%H:%M:%S %z', '%d/%b/%Y:%H:%M:%S.%g %z']) "
                 f"at time zone 'UTC'")  # fmt: skip
        naive = f"try_strptime(trim({expr}), ['%d/%b/%Y:%H:%M:%S.%g', '%d/%b/%Y:%H:%M:%S'])"
        expr = _ts_text(f"coalesce({zoned}, {naive})")
    elif parser in ("epoch_ns", "epoch_us", "epoch_ms", "epoch_s"):
        expr = _ts_text(f"make_timestamp({_epoch_micros(expr, parser)})")
    elif parser == "duration":
        expr, unit = duration_ms_sql(expr, unit or "ms"), None
    elif parser == "ip_hash":  # client addresses are personal data: a keyed hash only
        expr = (f"case when nullif(trim({expr}), '-') is not null then 'ip_' || "
                f"translate(md5({_lit(key)} || trim({expr})), '0123456789', 'ghijklmnop') end")  # fmt: skip
    elif parser == "user_agent_family":
        expr = user_agent_family_sql(expr)
    elif parser == "dash_is_null":
        expr = f"nullif(trim({expr}), '-')"
    elif parser == "request_line":  # POST /v1/x HTTP/1.1 -> POST /v1/x (a route key)
        expr = f"regexp_replace(trim({expr}), '\\s+HTTP/[0-9.]+$', '')"
    elif parser == "first_value":  # a header Caddy writes as a list: ["abc"] -> abc
        expr = (f"case when json_valid({expr}) and json_type({expr}) = 'ARRAY' "
                f"then json_extract_string({expr}, '$[0]') else {expr} end")  # fmt: skip
    elif parser == "lower":
        expr = f"lower({expr})"
    elif parser == "otlp_span_kind":
        expr = (f"case trim({expr}) when '1' then 'INTERNAL' when '2' then 'SERVER' "
                f"when '3' then 'CLIENT' when '4' then 'PRODUCER' when '5' then 'CONSUMER' "
                f"when '0' then 'UNSPECIFIED' else upper(replace(trim({expr}), 'SPAN_KIND_', '')) end")  # fmt: skip
    if unit and unit in UNIT_FACTORS and UNIT_FACTORS[unit] != 1.0:
        expr = f"cast(round({_num(expr)} * {UNIT_FACTORS[unit]}, 6) as varchar)"
    return expr


# Nanoseconds in one unit of each epoch parser.
EPOCH_UNIT_NS = {"epoch_ns": 1, "epoch_us": 1000, "epoch_ms": 1000000, "epoch_s": 1000000000}
# The latest instant a timestamp holds, in microseconds either side of 1970 (make_timestamp
# refuses some values beyond, and a refused value failed the whole file)
_MAX_MICROS = 9_000_000_000_000_000_000


def _epoch_micros(expr: str, parser: str) -> str:
    """SQL: an epoch number in the parser's unit as whole microseconds (half away from zero,
    as a decimal cast rounds), null when it is none or out of range; it never raises.

    Digits with an optional fraction (what loggers write) are read exactly in integer
    arithmetic: the integer part and the first nine fraction digits as nanounits, the tenth
    rounding them. A cast of the text to DECIMAL(38, 9) did the same at about 25
    microseconds a value (DuckDB 1.5: 26 s per 1M OTLP spans, against under 0.1), and
    raised on an out-of-range value. A sign or an exponent goes through a double.
    """
    text, unit_ns = f"trim({expr})", EPOCH_UNIT_NS[parser]
    frac = f"split_part({text}, '.', 2)"
    nano_units = (f"(try_cast(split_part({text}, '.', 1) as hugeint) * 1000000000 "
                  f"+ cast(rpad(left({frac}, 9), 9, '0') as hugeint) "
                  f"+ case when substr({frac}, 10, 1) >= '5' then 1 else 0 end)")  # fmt: skip
    # nanounits * unit_ns: the instant in nanoseconds * 1e9; microseconds: / 1e12, half up
    exact = f"({nano_units} * {unit_ns} + 500000000000) // 1000000000000"
    to_us = f"* {unit_ns // 1000}" if unit_ns >= 1000 else f"/ {1000 // unit_ns}"
    approx = f"try_cast(round(try_cast({text} as double) {to_us}) as hugeint)"
    micros = (f"try_cast(case when regexp_full_match({text}, '[0-9]{{1,19}}([.][0-9]*)?') "
              f"then {exact} else {approx} end as bigint)")  # fmt: skip
    return (f"case when {micros} between -{_MAX_MICROS} and {_MAX_MICROS} "
            f"then {micros} end")  # fmt: skip


# A duration's unit as written after its number (Go's time.Duration and protobuf's JSON
# Duration write these), in milliseconds.
DURATION_UNITS_MS = {"ns": 0.000001, "us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0,
                     "m": 60000.0, "h": 3600000.0}  # fmt: skip
_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?"


def duration_ms_sql(expr: str, unit: str) -> str:
    """SQL text of a delivered duration in milliseconds: a number in `unit`, or with a unit of
    its own (`0.123s`, `15ms`, Go's `1m2.5s`), or a list of such (space or comma separated:
    an ALB's three processing times) summed. Null when any part is not a duration, `-` or
    negative: load balancers write -1 for a time they do not have, and a sum with one
    part missing would be a number that was never measured."""
    units = "|".join(sorted(DURATION_UNITS_MS, key=len, reverse=True))
    factor = " ".join(f"when {_lit(u)} then {f!r}" for u, f in DURATION_UNITS_MS.items())
    one = (f"case when regexp_full_match(p, {_lit('[+]?' + _NUMBER)}) "
           f"then try_cast(p as double) * {UNIT_FACTORS[unit]!r} "
           f"when regexp_full_match(p, {_lit(f'(?:{_NUMBER}(?:{units}))+')}) "
           f"then list_sum(list_transform(regexp_extract_all(p, {_lit(f'({_NUMBER})({units})')}, 0), "
           f"lambda q: try_cast(regexp_extract(q, {_lit('^' + _NUMBER)}) as double) "
           f"* case regexp_extract(q, {_lit(f'({units})$')}) {factor} end)) end")  # fmt: skip
    # a part that is no duration counts as NaN, so the sum is NaN and becomes null (one
    # evaluation of the list: a subquery or a second reference would read it again)
    parts = f"string_split_regex(trim({expr}), '[ \t,]+')"
    total = f"list_sum(list_transform({parts}, lambda p: coalesce({one}, 'nan'::double)))"
    return f"cast(round(nullif({total}, 'nan'::double), 6) as varchar)"


def user_agent_family_sql(expr: str) -> str:
    """A user agent reduced to its family (the full string is personal-ish data)."""
    families = project_vars().get("user_agent_families") or []
    whens = " ".join(
        f"when regexp_matches({expr}, {_lit('(?i)' + f['pattern'])}) then {_lit(f['family'])}"
        for f in families
    )
    return f"case when nullif(trim({expr}), '-') is null then null {whens} else 'other' end"


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class ShapedRead:
    """What a shape reader left in scratch, and how its fields map to the contract."""

    delivered: tuple[str, ...]  # field names in scan order (c1..cN)
    targets: tuple[str | None, ...]  # contract column per field; None = extra field
    record_count: int
    line_count: int | None
    blank_lines: int
    landed_lines: int
    rejected_lines: int
    notes: tuple[str, ...] = ()
    made_by_parser: frozenset[int] = frozenset()  # positions whose values our parsers made
    # per field, the name an extra field lands under when its mapping renames it (`extra`)
    extra_names: tuple[str | None, ...] = ()
    header_lines: int = 0  # lines that describe the records (W3C's `#` directives)


def extra_names(
    shape: Shape, delivered: Sequence[str], targets: Sequence[str | None]
) -> tuple[str | None, ...]:
    """The name each extra field lands under where its mapping renames it (else None).
    A rename never takes a name that another field of the file is delivered under, or that
    an earlier rename took: that field keeps its own name (nothing is overwritten)."""
    taken = set(delivered)
    out: list[str | None] = []
    for name, target in zip(delivered, targets, strict=True):
        fm = shape.fields.get(name)
        new = fm.extra if fm is not None and target is None else None
        if new is not None and new not in taken:
            taken.add(new)
            out.append(new)
        else:
            out.append(None)
    return tuple(out)


def plan_fields(shape: Shape, available: Sequence[str]) -> list[tuple[str, str | None, str]]:
    """(delivered name, contract column or None, source key) for every field to land.

    Mapped fields first (a fallback only when its column has no primary field present),
    then contract names and aliases, then everything else as extra fields.
    """
    present = set(available)
    planned: list[tuple[str, str | None, str]] = []
    taken: set[str] = set()
    for name, fm in sorted(shape.fields.items(), key=lambda kv: kv[1].fallback):
        if fm.column is None:  # renamed extra fields land with the others, below
            continue
        if name in present and fm.column not in taken:
            planned.append((name, fm.column, name))
            taken.add(fm.column)
    used = {p[0] for p in planned}
    for name in available:
        if name in used:
            continue
        fm = shape.fields.get(name)
        if fm is not None and fm.extra is not None:  # an extra field even under a contract name
            planned.append((name, None, name))
            continue
        target = contract_target(name)
        if target is not None and target not in taken:
            planned.append((name, target, name))
            taken.add(target)
        elif name not in shape.fields or shape.fields[name].column is None:
            planned.append((name, None, name))
    return planned


# --------------------------------------------------------------------------- readers

# Per-line columns a line reader needs, computed in the one pass that reads the lines.
LINE_FLAGS: dict[str, dict[str, str]] = {
    "jsonl": {"is_record": r"json_valid(line) and regexp_matches(line, '^[ \t\r\n\f\v]*\{')"},
}


# The longest line a line reader reads: one OTLP export request (the Collector's file
# exporter) is one line of every span of the request, 9 MB at 20,000 spans.
LINE_MAX_BYTES = 1 << 26

# A line is blank when it holds nothing but ASCII white space. A regular expression that
# stops at the first other character: trim() reads the whole line (3x slower on JSON).
BLANK_LINE_SQL = r"(line is null or not regexp_matches(line, '[^ \t\r\n\f\v]'))"


def read_lines(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    gzipped: bool,
    table: str,
    flags: Mapping[str, str] | None = None,
    prefix: str | None = None,
) -> None:
    """Every physical line of a text file, numbered as an editor numbers them (blank ones too).

    `is_blank` marks blank lines; `flags` adds per-line columns computed in the same pass
    (e.g. whether the line is one JSON object), so no reader scans the lines twice. A
    collector's `prefix` (LINE_PREFIXES) is taken off each line that has it.
    """
    extra = "".join(f", {sql} as {name}" for name, sql in (flags or {}).items())
    # the envelope is kept beside the record: a line no reader reads is rejected whole
    line, envelope = "line", "null::varchar"
    if prefix is not None:
        line = f"regexp_replace(line, {_lit(prefix)}, '')"
        envelope = f"regexp_extract(line, {_lit(prefix)})"
    con.execute(
        f"""
        create temp table {table} as
        select line, line_no, {BLANK_LINE_SQL} as is_blank{extra}, envelope
        from (
            select {line} as line, ordinality as line_no, {envelope} as envelope
            from read_csv({sql_value(str(path))}, columns = {{'line': 'VARCHAR'}},
                          delim = '\\x01', quote = '', escape = '', header = false,
                          auto_detect = false, strict_mode = false,
                          compression = '{"gzip" if gzipped else "none"}',
                          max_line_size = {LINE_MAX_BYTES}) with ordinality
        )
        """
    )


def _finish(
    con: duckdb.DuckDBPyConnection,
    temps: Mapping[str, str],
    planned: list[tuple[str, str | None, str]],
    value_sql: Mapping[str, str],
    shape: Shape,
    key: str,
    source_rel: str,
    unit_for: Mapping[str, str],
) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    """Create `scan` from a relation of parsed records: one text column per planned field.

    The relation carries `record_no` (unique, in file order) and `source_line`.
    """
    cols = []
    for i, (name, _target, src) in enumerate(planned, start=1):
        raw = value_sql[src]
        fm = shape.fields.get(name)
        expr = parse_sql(fm, raw, key, unit_for.get(name)) if fm else raw
        cols.append(f"cast({expr} as varchar) as c{i}")
    select = ", ".join([*cols, "record_no", "source_line", "record_no as ordinality"])
    con.execute(f"create temp view {temps['scan']} as select {select} from {source_rel}")
    return tuple(p[0] for p in planned), tuple(p[1] for p in planned)


def read_shaped(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    gzipped: bool,
    shape: Shape,
    temps: Mapping[str, str],
    key: str,
) -> ShapedRead:
    """Read a file of a non-CSV shape into the scratch tables `scan` and `rejects`.

    A line-shaped file's lines must have been read first (`read_shape_lines`).
    """
    if shape.reader == "parquet":
        return _read_parquet(con, path, shape, temps, key)
    return _LINE_READERS[shape.reader](con, shape, temps, key)


def read_shape_lines(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    gzipped: bool,
    shape: Shape,
    table: str,
    prefix: str | None = None,
) -> None:
    """The lines of a line-shaped file (JSON lines, OTLP, access log) into `table`, with the
    per-line flags its reader needs, and a collector's prefix taken off (LINE_PREFIXES)."""
    read_lines(con, path, gzipped, table, LINE_FLAGS.get(shape.reader), prefix)


def _line_counts(con, temps, header_sql: str = "false") -> tuple[int, int, int]:
    """Lines, blank lines and header lines (those `header_sql` is true of), in one scan."""
    return con.execute(
        f"select count(*), count_if(is_blank), count_if({header_sql}) from {temps['lines']}"
    ).fetchone()


def _rejects_from(con, temps, error_type: str, message: str, bad: str | None = None) -> None:
    """Every non-blank line that gave no record is a reject, with its whole text.

    `bad` is a condition on the lines table that marks such lines; without it, a line is
    bad when no parsed record came from it.
    """
    where = bad or f"line_no not in (select line_no from {temps['parsed']})"
    con.execute(f"""
        create temp table {temps['rejects']} as
        select line_no as source_line, {_lit(error_type)} as error_type,
               {_lit(message)} as error_message, concat(envelope, line) as raw_record,
               1 as line_count,
               row_number() over (order by line_no) as reject_no
        from {temps['lines']}
        where not is_blank and ({where})
    """)  # fmt: skip


def _json_record_sql(top: Sequence[str], nested: Sequence[str]) -> tuple[str, dict[str, str]]:
    """One `json_transform` that reads every wanted value of a record, and how to get each.

    Top-level keys become text fields of one struct; a nested path (`latencies.request`)
    becomes a nested struct field, unless its first key is also wanted as text, then it is
    read from that text. A dotted top-level key (`http.route`) wins over the nested path
    it also spells. One transform a record parses the line once: about half the time of
    one JSONPath extraction a value.
    """
    # DuckDB matches a struct's field names ignoring case, and has no field named '': such
    # names (`Note` beside `note`, an empty key) are read by their place among the record's
    # keys, each its own value (the struct gave `note` the value of `Note`, and an empty key
    # refused the whole file). A key written twice gives its first value, as the struct does.
    folded = Counter(name.lower() for name in top)
    by_place = {name for name in top if name == "" or folded[name.lower()] > 1}
    tree: dict[str, object] = {name: "VARCHAR" for name in top if name not in by_place}
    value_sql = {name: f"v[{_lit(name)}]" for name in top if name not in by_place}
    value_sql |= {name: f"json_extract_string(line, '$.*')[list_position(json_keys(line), {_lit(name)})]"
                  for name in by_place}  # fmt: skip
    for name in nested:
        parts = name.split(".")
        node: dict | None = tree
        for part in parts[:-1]:  # a missing parent becomes a struct; a text one cannot be
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else None
            if node is None:
                break
        if node is not None and parts[-1] not in node:
            node[parts[-1]] = "VARCHAR"
            nested_sql = "v" + "".join(f"[{_lit(p)}]" for p in parts)
        else:  # the path's root is itself a text field: read the path from the line
            nested_sql = f"json_extract_string(line, {_lit(_json_path(name))})"
        value_sql[name] = (
            f"coalesce({value_sql[name]}, {nested_sql})" if name in top else nested_sql
        )
    return f"json_transform(line, {_lit(json.dumps(tree))})", value_sql


def _read_jsonl(con, shape: Shape, temps, key: str) -> ShapedRead:
    # one JSON object a line (is_record, from LINE_FLAGS); each line is parsed once per
    # pass, never stored as JSON
    lines = temps["lines"]
    _rejects_from(con, temps, "INVALID JSON", "the line is not one JSON object", "not is_record")
    top = [k for (k,) in con.execute(
        f"select distinct unnest(json_keys(line)) as k from {lines} where is_record order by k"
    ).fetchall()]  # fmt: skip
    # mapped names that are nested paths (`latencies.request`), present in some record; a
    # path can only be there when some record has its first key at the top level
    top_keys = set(top)

    def rooted(name: str) -> bool:
        return "." in name and name.split(".")[0] in top_keys

    candidates = [name for name in shape.fields if rooted(name) and name not in top_keys]
    nested = []
    if candidates:
        paths = _list_lit(_json_path(n) for n in candidates)
        present = ", ".join(f"count_if(v[{k}] is not null)" for k in range(1, len(candidates) + 1))
        counts = con.execute(
            f"select {present} "
            f"from (select json_extract_string(line, {paths}) as v from {lines} where is_record)"
        ).fetchone()
        nested = [n for n, c in zip(candidates, counts, strict=True) if c]
    # a dotted top-level key may also be spelled as a nested path in other records
    also_nested = [name for name in top if rooted(name)]
    available = [*top, *nested]
    planned = plan_fields(shape, available)
    record_sql, value_sql = _json_record_sql(top, [*also_nested, *nested])
    rel = (f"(select line_no as record_no, line_no as source_line, line, {record_sql} as v "
           f"from {lines} where is_record)")  # fmt: skip
    delivered, targets = _finish(con, temps, planned, value_sql, shape, key, rel, {})
    return _shaped_result(con, temps, shape, delivered, targets)


# OTLP/JSON as the typed structures DuckDB parses it into: an export request with each span
# kept as JSON text, then each span. Only the fields the reader uses. VARCHAR takes a
# number or a string as its text (`kind` 2 or "SPAN_KIND_SERVER", a time as "179..." or
# 179...); an attribute's value stays JSON (stringValue, intValue, ..., or an array or
# key-value list, kept as its JSON text).
_OTLP_ATTRIBUTES = [{"key": "VARCHAR", "value": "JSON"}]
_OTLP_REQUEST = json.dumps({"resourceSpans": [{
    "resource": {"attributes": _OTLP_ATTRIBUTES}, "scopeSpans": [{"spans": ["JSON"]}],
}]})  # fmt: skip
_OTLP_SPAN = json.dumps({
    "traceId": "VARCHAR", "spanId": "VARCHAR", "name": "VARCHAR", "kind": "VARCHAR",
    "startTimeUnixNano": "VARCHAR", "endTimeUnixNano": "VARCHAR",
    "attributes": _OTLP_ATTRIBUTES, "status": {"code": "VARCHAR", "message": "VARCHAR"},
})  # fmt: skip
# A span's own fields, as named in the shape file (where a span has none, an attribute of
# the same name is read)
_OTLP_SPAN_FIELDS = {
    "traceId": "span.traceId", "spanId": "span.spanId", "name": "span.name",
    "kind": "span.kind", "startTimeUnixNano": "span.startTimeUnixNano",
    "endTimeUnixNano": "span.endTimeUnixNano",
    "duration_ns": "cast(try_cast(span.endTimeUnixNano as hugeint) "
                   "- try_cast(span.startTimeUnixNano as hugeint) as varchar)",
    "status.code": "span.status.code", "status.message": "span.status.message",
}  # fmt: skip
# How much line text the OTLP reader unnests at a time (readers._read_otlp).
OTLP_SLICE_BYTES = 64 << 20


def _read_otlp(con, shape: Shape, temps, key: str) -> ShapedRead:
    """OTLP/JSON, one export request a line: one record per span, in file order.

    Two passes, each parsing its text once. The lines, OTLP_SLICE_BYTES of text at a time,
    become one row per span (its resource's attributes, the span as JSON text): a slice is
    a few long lines, which one thread reads, and unnested requests cannot spill (a whole
    470 MB file needed more than 4.6 GiB). The spans, then, are parsed into the typed
    structure above, on every core. Reading each field from the line's JSON text instead
    parsed the span again for every field: 14k spans/s and 2 GB for 100k spans.

    A span's attributes, its resource's before its own, are one list of (key, value);
    where a key repeats, the last value is the one read (the spec forbids repeats,
    exporters write them: a map of them refused the whole file).
    """
    spans = f"{temps['parsed']}_spans"
    unnested = f"""
        with requests as (
            select line_no, from_json(line, {_lit(_OTLP_REQUEST)}) as request
            from {temps['lines']}
            -- a line of valid JSON without spans gives none, and is rejected below
            where line_no between $first and $last and not is_blank and json_valid(line)
        ),
        resources as (
            select line_no, generate_subscripts(request.resourceSpans, 1) as resource_no,
                   unnest(request.resourceSpans) as resource
            from requests
        ),
        scopes as (
            select line_no, resource_no, resource.resource.attributes as resource_attributes,
                   generate_subscripts(resource.scopeSpans, 1) as scope_no,
                   unnest(resource.scopeSpans) as scope
            from resources
        )
        select line_no, resource_no, scope_no, generate_subscripts(scope.spans, 1) as span_no,
               resource_attributes, unnest(scope.spans) as span
        from scopes
    """  # fmt: skip
    slices = con.execute(f"""
        select min(line_no), max(line_no) from (
            select line_no, sum(length(line)) over (order by line_no) // {OTLP_SLICE_BYTES} as slice
            from {temps['lines']} where not is_blank
        ) group by slice order by 1
    """).fetchall()  # fmt: skip
    # constants, not parameters: a parameter is no filter on the scan of the lines
    con.execute(f"create temp table {spans} as "
                + unnested.replace("$first", "1").replace("$last", "0"))  # fmt: skip
    for first, last in slices:
        con.execute(f"insert into {spans} "
                    + unnested.replace("$first", str(first)).replace("$last", str(last)))  # fmt: skip

    attribute = ("list_transform(coalesce({src}, []), lambda a: struct_pack(k := a.key, "
                 "v := coalesce(a.value->>'stringValue', a.value->>'intValue', "
                 "a.value->>'doubleValue', a.value->>'boolValue', cast(a.value as varchar))))")  # fmt: skip
    fields = ",\n".join(f"{sql} as {quote_ident(name)}" for name, sql in _OTLP_SPAN_FIELDS.items())
    con.execute(f"""
        create temp table {temps['parsed']} as
        select line_no, resource_no, scope_no, span_no,
               -- last first, so that list_position finds a repeated key's last value
               list_reverse(list_transform(attributes, lambda e: e.k)) as attribute_keys,
               list_reverse(list_transform(attributes, lambda e: e.v)) as attribute_values,
               * exclude (line_no, resource_no, scope_no, span_no, attributes)
        from (
            select line_no, resource_no, scope_no, span_no,
                   list_filter(list_concat({attribute.format(src="resource_attributes")},
                                           {attribute.format(src="span.attributes")}),
                               lambda e: e.k is not null and e.v is not null) as attributes,
                   {fields}
            from (
                -- an entry that is no object (null, a number) is a span without fields:
                -- a record still, quarantined for what it lacks, never dropped
                select line_no, resource_no, scope_no, span_no, resource_attributes,
                       case when json_type(span) = 'OBJECT' then from_json(span, {_lit(_OTLP_SPAN)}) end
                           as span
                from {spans}
            )
        )
    """)  # fmt: skip
    con.execute(f"drop table {spans}")
    _rejects_from(
        con,
        temps,
        "INVALID OTLP",
        "the line is not an OTLP/JSON export request with at least one span",
    )
    counts = ", ".join(f"count({quote_ident(name)}) > 0" for name in _OTLP_SPAN_FIELDS)
    has = con.execute(f"select {counts} from {temps['parsed']}").fetchone()
    named = [k for (k,) in con.execute(
        f"select distinct unnest(attribute_keys) as k from {temps['parsed']} order by k").fetchall()]  # fmt: skip
    available = sorted({*(n for n, h in zip(_OTLP_SPAN_FIELDS, has, strict=True) if h), *named})
    attribute_value = "attribute_values[list_position(attribute_keys, {})]"
    value_sql = {name: attribute_value.format(_lit(name)) for name in named}
    for name in _OTLP_SPAN_FIELDS:  # the span's own field, else an attribute of its name
        if name in available:
            own = quote_ident(name)
            value_sql[name] = f"coalesce({own}, {value_sql[name]})" if name in named else own
    planned = plan_fields(shape, available)
    rel = (f"(select *, row_number() over (order by line_no, resource_no, scope_no, span_no) "
           f"as record_no, line_no as source_line from {temps['parsed']})")  # fmt: skip
    delivered, targets = _finish(con, temps, planned, value_sql, shape, key, rel, {})
    return _shaped_result(con, temps, shape, delivered, targets)


def _read_line_pattern(con, shape: Shape, temps, key: str) -> ShapedRead:
    """A text log of one record a line, read with its reader's LinePattern."""
    lines, parsed, form = temps["lines"], temps["parsed"], LINE_PATTERNS[shape.reader]
    groups = _list_lit(form.groups)
    # one pass of the line pattern; a line that does not match extracts empty groups and is
    # deleted afterwards: a filter on the extracted groups in the same query makes DuckDB
    # run the pattern twice, once for the filter and once for the values (2x the time)
    con.execute(f"""
        create temp table {parsed} as
        with extracted as (
            select line_no, regexp_extract(line, {_lit(form.pattern)}, {groups}) as g
            from {lines}
            where not is_blank
        )
        select line_no, g,
               regexp_extract(g.request, {_lit(REQUEST_PATTERN)}, ['method', 'path', 'protocol']) as r
        from extracted
    """)  # fmt: skip
    con.execute(f"delete from {parsed} where g.{form.always} = ''")
    _rejects_from(
        con, temps, "UNREADABLE LINE", f"the line does not match the {form.format_name} format"
    )
    fields = [g for g in form.groups if g != "request"] + ["method", "path", "protocol"]
    counts = con.execute(
        "select " + ", ".join(f"count({_line_value(f)})" for f in fields) + f" from {parsed}"
    ).fetchone()
    present = [f for f, n in zip(fields, counts, strict=True) if n > 0]
    value_sql = {f: _line_value(f) for f in present}
    # The first timing after the user agent: nginx writes seconds with a decimal point,
    # Apache's %D integer microseconds.
    unit_for, notes = _auto_units(con, shape, parsed, value_sql)
    planned = plan_fields(shape, present)
    # one record a line: its line number numbers it
    rel = f"(select *, line_no as record_no, line_no as source_line from {parsed})"
    delivered, targets = _finish(con, temps, planned, value_sql, shape, key, rel, unit_for)
    return _shaped_result(con, temps, shape, delivered, targets, tuple(notes))


def _auto_units(
    con, shape: Shape, parsed: str, value_sql: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The unit of each present field mapped with an AUTO_UNITS unit, decided for the whole
    file (seconds when at least half its values have a decimal point), and a note for each."""
    unit_for, notes = {}, []
    for name, sql in value_sql.items():
        fm = shape.fields.get(name)
        if fm is None or fm.unit not in AUTO_UNITS:
            continue
        dotted, total = con.execute(
            f"select count(*) filter (where contains({sql}, '.')), count({sql}) from {parsed}"
        ).fetchone()
        unit_for[name] = "s" if dotted >= 0.5 * total else AUTO_UNITS[fm.unit]
        notes.append(f"{name} read as {UNIT_WORDS[unit_for[name]]}")
    return unit_for, notes


def _read_w3c(con, shape: Shape, temps, key: str) -> ShapedRead:
    """The W3C extended log format (IIS, CloudFront): `#` directive lines, and records
    whose fields the last `#Fields:` directive before them names (IIS writes the
    directives again, maybe with other fields, each time it starts), separated by spaces
    (IIS) or tabs (CloudFront); `-` is no value. Field names are read as identifiers
    (`cs(User-Agent)` as `cs_user_agent`), and `date` and `time` (UTC) as one `date_time`.
    A line before any `#Fields:`, or with another number of fields than it names, is a
    reject; directive lines are the file's header lines."""
    lines, parsed = temps["lines"], temps["parsed"]
    directive = "starts_with(line, '#')"
    name_sql = "trim(lower(regexp_replace(n, '[^A-Za-z0-9]+', '_', 'g')), '_')"
    con.execute(f"""
        create temp table {parsed} as
        with directives as (
            select line_no,
                   list_transform(string_split_regex(trim(substr(line, 9)), '\\s+'),
                                  lambda n: {name_sql}) as names
            from {lines} where starts_with(line, '#Fields:')
        ),
        records as (
            select line_no, rtrim(line, chr(13)) as line from {lines}
            where not is_blank and not {directive}
        ),
        split as (
            select r.line_no, d.names,
                   string_split(r.line, case when contains(r.line, chr(9)) then chr(9) else ' ' end)
                       as vals
            from records as r asof join directives as d on r.line_no > d.line_no
        )
        select line_no, map(names, vals) as f
        from split
        where len(vals) = len(names) and len(list_distinct(names)) = len(names)
    """)  # fmt: skip
    _rejects_from(
        con, temps, "UNREADABLE LINE",
        "the line does not hold the fields the #Fields directive before it names (or no "
        "#Fields directive comes before it)",
        f"not {directive} and line_no not in (select line_no from {parsed})",
    )  # fmt: skip
    available = [k for (k,) in con.execute(
        f"select distinct unnest(map_keys(f)) as k from {parsed} order by k").fetchall()]  # fmt: skip
    value_sql = {name: f"nullif(f[{_lit(name)}], '-')" for name in available}
    if {"date", "time"} <= set(available):
        value_sql["date_time"] = f"({value_sql.pop('date')} || ' ' || {value_sql.pop('time')})"
    unit_for, notes = _auto_units(con, shape, parsed, value_sql)
    planned = plan_fields(shape, list(value_sql))
    rel = f"(select *, line_no as record_no, line_no as source_line from {parsed})"
    delivered, targets = _finish(con, temps, planned, value_sql, shape, key, rel, unit_for)
    return _shaped_result(con, temps, shape, delivered, targets, tuple(notes), directive)


def _line_value(name: str) -> str:
    """A field of a line-pattern read: a group of the line, or a part of its request line."""
    if name in ("method", "path", "protocol"):
        return f"nullif(r.{name}, '')"
    return f"nullif(g.{name}, '')"


def _read_parquet(con, path: Path, shape: Shape, temps, key: str) -> ShapedRead:
    """Parquet: every column as text; the count to reconcile against is the file's metadata."""
    columns = [r[0] for r in con.execute(
        "select column_name from (describe select * from read_parquet(?))", [str(path)]).fetchall()]  # fmt: skip
    available = [c.strip().lower() for c in columns]
    planned = plan_fields(shape, available)
    # each column by its place (#1, #2, ...): a name may hold a quote or a NUL, which refused
    # the file when written into the query (DuckDB has already made the names distinct)
    value_sql = {a: f"cast(#{i} as varchar)" for i, a in enumerate(available, start=1)}
    rel = (f"(select *, ordinality as record_no, null::bigint as source_line "
           f"from read_parquet({_lit(str(path))}) with ordinality)")  # fmt: skip
    delivered, targets = _finish(con, temps, planned, value_sql, shape, key, rel, {})
    con.execute(f"""
        create temp table {temps['rejects']} (
            source_line bigint, error_type varchar, error_message varchar, raw_record varchar,
            line_count bigint, reject_no bigint)
    """)  # fmt: skip
    records = con.execute(
        "select sum(num_rows) from parquet_file_metadata(?)", [str(path)]
    ).fetchone()[0]
    return ShapedRead(delivered, targets, int(records or 0), None, 0, 0, 0,
                      extra_names=extra_names(shape, delivered, targets))  # fmt: skip


def _shaped_result(
    con,
    temps,
    shape: Shape,
    delivered,
    targets,
    notes: tuple[str, ...] = (),
    header_sql: str = "false",
) -> ShapedRead:
    """The counts of a line-shaped read (header lines: those `header_sql` is true of), and
    which fields our own parsers made."""
    total, blank, header_lines = _line_counts(con, temps, header_sql)
    records, landed_lines = con.execute(
        f"select count(*), count(distinct source_line) from {temps['scan']}"
    ).fetchone()
    rejected = con.execute(f"select count(*) from {temps['rejects']}").fetchone()[0]
    made_by_parser = frozenset(
        i for i, name in enumerate(delivered)
        if name in shape.fields and shape.fields[name].parser in SAFE_PARSERS
    )  # fmt: skip
    return ShapedRead(delivered, targets, records + rejected, total, blank, landed_lines,
                      rejected, notes, made_by_parser, extra_names(shape, delivered, targets),
                      header_lines)  # fmt: skip


# The readers of line-shaped files (their lines read first by `read_shape_lines`).
_LINE_READERS = {
    "jsonl": _read_jsonl,
    "otlp": _read_otlp,
    "w3c": _read_w3c,
    **dict.fromkeys(LINE_PATTERNS, _read_line_pattern),
}
LINE_READERS = frozenset(_LINE_READERS)
