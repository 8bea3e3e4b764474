{#
    The raw landing contract: every record as delivered (all text) plus its
    lineage. Runs on-run-start so a warehouse that never saw the generator
    still has every raw relation (empty), and scripts/api_trust/warehouse.py
    executes this same body before loading, so the DDL lives in one place.
    Keep the body plain SQL: the Python side reads it without Jinja.
    Text lands masked (macros/pii.sql); fields outside the contract land in
    `extra_fields` (a JSON object, name -> value), so a wide header never
    widens the table. raw.api_calls declared here is the column contract of
    the landed records: the first landing replaces this (empty) table with a
    view over Parquet files of exactly these columns (scripts/api_trust/
    landing.py), and `create table if not exists` leaves that view alone.
#}
{% macro create_raw_landing_tables() %}
create schema if not exists raw;
create table if not exists raw.api_calls (
    request_id varchar,
    "timestamp" varchar,
    api_name varchar,
    api_version varchar,
    region varchar,
    client_type varchar,
    client_id varchar,
    document_type varchar,
    verification_id varchar,
    attempt_no varchar,
    status varchar,
    status_code varchar,
    latency_ms varchar,
    error_reason varchar,
    error_message varchar,
    http_method varchar,
    route varchar,
    service_name varchar,
    span_kind varchar,
    trace_id varchar,
    otel_status_code varchar,
    client_ip varchar,
    user_agent_family varchar,
    upstream_latency_ms varchar,
    sample_rate varchar,
    extra_fields varchar,
    batch_id varchar not null,
    source_name varchar not null,
    source_record_no bigint not null,
    loaded_at timestamp not null
);
create table if not exists raw.load_batches (
    batch_id varchar primary key,
    source_name varchar not null,
    source_kind varchar not null,
    source_format varchar not null,
    content_hash varchar not null,
    record_count bigint not null,
    landed_count bigint not null,
    rejected_count bigint not null,
    columns_seen varchar not null,
    loaded_at timestamp not null,
    line_count bigint,
    header_line_count bigint,
    blank_line_count bigint,
    landed_line_count bigint,
    rejected_line_count bigint,
    decimal_mark varchar,
    date_order varchar
);
create table if not exists raw.load_batch_columns (
    batch_id varchar not null,
    column_position integer not null,
    column_name varchar not null,
    sniffed_type varchar not null,
    landed_as varchar
);
create table if not exists raw.load_rejects (
    batch_id varchar not null,
    source_name varchar not null,
    source_line bigint,
    column_name varchar,
    error_type varchar not null,
    error_message varchar not null,
    raw_record varchar,
    line_count bigint
);
-- Warehouses made before these columns existed get them here (null for old batches).
-- raw.api_calls needs none: it becomes a view over Parquet files at the first landing
-- (scripts/api_trust/landing.py), and files without a column read it as null.
alter table raw.load_batch_columns add column if not exists landed_as varchar;
alter table raw.load_batches add column if not exists line_count bigint;
alter table raw.load_batches add column if not exists header_line_count bigint;
alter table raw.load_batches add column if not exists blank_line_count bigint;
alter table raw.load_batches add column if not exists landed_line_count bigint;
alter table raw.load_batches add column if not exists rejected_line_count bigint;
alter table raw.load_batches add column if not exists decimal_mark varchar;
alter table raw.load_batches add column if not exists date_order varchar;
alter table raw.load_rejects add column if not exists line_count bigint;
create table if not exists raw.generator_runs (
    run_id varchar primary key,
    scenario varchar not null,
    seed bigint not null,
    row_count bigint not null,
    days integer not null,
    end_at timestamp not null,
    dirty_rate double not null,
    batches integer not null,
    has_drift boolean not null,
    generated_at timestamp not null
);
create table if not exists raw.planted_defects (
    batch_id varchar not null,
    source_record_no bigint not null,
    request_id varchar,
    kind varchar not null,
    column_name varchar
);
-- `segment` names every dimension value the effect applies to, as rca_findings
-- writes segments (`api_name=X, region=Y`); null when it names none.
create table if not exists raw.generator_effects (
    effect_id integer not null,
    scenario varchar not null,
    kind varchar not null,
    is_incident boolean not null,
    segment varchar,
    api_name varchar,
    api_version varchar,
    region varchar,
    document_type varchar,
    client_type varchar,
    client_id varchar,
    sdk_version varchar,
    error_reason varchar,
    window_start timestamp,
    window_end timestamp,
    daily_window_utc varchar,
    failure_rate_added double,
    latency_multiplier double,
    traffic_multiplier double,
    description varchar not null
);
alter table raw.generator_effects add column if not exists segment varchar;
alter table raw.generator_effects add column if not exists sdk_version varchar;
alter table raw.generator_effects add column if not exists daily_window_utc varchar;
alter table raw.generator_effects add column if not exists traffic_multiplier double;
{% endmacro %}
