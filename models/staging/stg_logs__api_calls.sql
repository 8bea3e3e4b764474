{#- A table on Spark: its Hive metastore (Derby) keeps a view's SQL in a column of at most
    32,700 characters, and this model's SQL (the personal-data rules, the timestamp forms)
    is longer; a view elsewhere. -#}
{{ config(materialized='table' if target.type == 'spark' else 'view') }}
{%- set present = api_trust.relation_column_names(source('logs', 'api_calls')) -%}

with

source as (
    -- with the decimal mark and date order of each record's batch (read by the numbers and
    -- the timestamp below)
    select
        calls.*,
        batches.decimal_mark,
        batches.date_order
    from {{ source('logs', 'api_calls') }} as calls
    left join {{ ref('stg_logs__load_batches') }} as batches
        on calls.batch_id = batches.batch_id
),

delivered as (
    -- one trimmed text value per contract column; a column a batch sent under a
    -- known alias (e.g. `latency`) is read under its contract name
    select
        batch_id,
        source_name,
        source_record_no,
        loaded_at,
        extra_fields,
        decimal_mark,
        date_order,
        {{ api_trust.delivered_text_columns(present) }},
        -- the whole delivered record, the id of a record without a request id (hex digits
        -- as letters a-p, so the hash never reads as a number to the PII rules); only those
        -- records pay for it, here where its inputs are still unread source columns
        case
            when {{ api_trust.delivered_text('request_id', present) }} is null
                then translate(
                        md5(concat_ws('|', {{ api_trust.delivered_record_columns(present) }})),
                        '0123456789',
                        'ghijklmnop'
                    )
        end as record_hash
    from source
),

timestamp_texts as (
    -- a date written as numbers (`01/12/2026`) in ISO order, by the batch's date order
    select
        *,
        {{ api_trust.iso_date_text('timestamp_raw', 'date_order') }} as timestamp_text
    from delivered
),

timestamp_parts as (
    -- the timestamp text split, row by row, into its wall-clock time and its zone
    select
        *,
        {{ api_trust.timestamp_wall_clock('timestamp_text') }} as called_at_local,
        {{ api_trust.timestamp_zone_text('timestamp_text') }} as timestamp_zone
    from timestamp_texts
),

timestamp_offsets as (
    select
        *,
        {{ api_trust.fixed_offset_minutes('timestamp_zone') }} as fixed_offset_minutes
    from timestamp_parts
),

known_zones as (
    -- the zone names both engines convert, as the seed spells them (Spark's are case-sensitive)
    select
        zone_name,
        lower(zone_name) as zone_key
    from {{ ref('time_zone_names') }}
),

timestamp_zones as (
    -- what the zone is; only wall-clock times near the accepted window (a day's
    -- margin covers any offset) and known zone names ever reach the zone database
    select
        timestamp_offsets.*,
        case
            when
                timestamp_offsets.called_at_local between {{ api_trust.add_hours(
                    "cast('" ~ var('min_timestamp') ~ "' as timestamp)", -24) }}
                and {{ api_trust.add_hours('timestamp_offsets.loaded_at', var('future_tolerance_hours') + 24) }}
                then timestamp_offsets.called_at_local
        end as window_local_at,
        -- a name, not an offset (`Z`, `+05:30`), that the seed holds
        known_zones.zone_name
    from timestamp_offsets
    -- one equality, so a hash join: a condition on the zone's own columns beside it made
    -- DuckDB compare every call with every zone name (9 of 135 CPU-seconds at 10M rows)
    left join known_zones
        on
            case
                when timestamp_offsets.fixed_offset_minutes is null then lower(timestamp_offsets.timestamp_zone)
            end
            = known_zones.zone_key
),

zone_resolved as (
    select
        *,
        {{ api_trust.zone_local_to_utc('window_local_at', 'zone_name') }} as zone_pick_at
    from timestamp_zones
),

zone_checked as (
    -- a named zone's local time may occur twice (clocks fall back) or never
    -- (spring forward): counted, so validation can refuse to guess
    select
        *,
        case
            when zone_pick_at is not null
                then {{ api_trust.zone_local_time_matches('window_local_at', 'zone_name', 'zone_pick_at') }}
        end as local_time_matches
    from zone_resolved
),

timestamps_resolved as (
    select
        *,
        case
            when window_local_at is null then null
            when timestamp_zone is null then window_local_at
            when fixed_offset_minutes is not null
                then {{ api_trust.minus_minutes('window_local_at', 'fixed_offset_minutes') }}
            when local_time_matches = 1 then zone_pick_at
        end as called_at
    from zone_checked
),

renamed as (
    select
        -- ids
        request_id_raw as request_id,
        verification_id_raw as verification_id,
        client_id_raw as client_id,
        batch_id,
        source_name,
        source_record_no,

        -- strings, normalised for lookup; canonical values come from seeds downstream
        {{ api_trust.normalise_api_name('api_name_raw') }} as api_name,
        lower(api_version_raw) as api_version,
        {{ api_trust.normalise_key('region_raw') }} as region_key,
        {{ api_trust.normalise_key('client_type_raw') }} as client_type_key,
        {{ api_trust.normalise_key('document_type_raw') }} as document_type_key,
        {{ api_trust.normalise_key('status_raw') }} as status_key,
        lower(error_reason_raw) as error_reason,
        {{ api_trust.mask_pii('error_message_raw') }} as error_message,

        -- protocol fields of gateway, access-log and trace shapes (log_shapes/);
        -- a route key such as `POST /v1/pan/verify` gives the method too (white space as a
        -- class, not `\s`: a backslash in a literal is an escape on Spark)
        upper(coalesce(http_method_raw, regexp_extract(route_raw, '^([A-Za-z]+)[ \t\n\f\r]+/', 1))) as http_method,
        {{ api_trust.route_path('route_raw') }} as http_route,
        {{ api_trust.template_route(api_trust.route_path('route_raw')) }} as route_template,
        coalesce(service_name_raw, 'default') as service_name,
        upper(replace(span_kind_raw, 'SPAN_KIND_', '')) as span_kind,
        lower(trace_id_raw) as trace_id,
        -- OTLP writes the span status as a number (2 = ERROR) or its enum name
        case otel_status_code_raw
            when '0' then 'UNSET'
            when '1' then 'OK'
            when '2' then 'ERROR'
            else upper(replace(otel_status_code_raw, 'STATUS_CODE_', ''))
        end as otel_status,
        client_ip_raw as client_ip,
        lower(user_agent_family_raw) as user_agent_family,
        {{ api_trust.parse_milliseconds_text('upstream_latency_ms_raw', 'decimal_mark') }} as upstream_latency_ms,
        {{ api_trust.parse_decimal_text(
            api_trust.decimal_point_text('sample_rate_raw', 'decimal_mark')
        ) }} as sample_rate,
        extra_fields,
        record_hash,

        -- numbers
        {{ api_trust.parse_integer_text('status_code_raw') }} as status_code,
        {{ api_trust.parse_milliseconds_text('latency_ms_raw', 'decimal_mark') }} as latency_ms,
        {{ api_trust.parse_integer_text('attempt_no_raw') }} as attempt_no,
        local_time_matches,

        -- booleans
        coalesce(
            {{ api_trust.has_pii('error_message_raw') }} or {{ api_trust.has_pii_token('error_message_raw') }}, false
        )
            as has_pii_in_message,
        timestamp_zone is null or fixed_offset_minutes is not null or zone_name is not null
            as is_time_zone_known,

        -- timestamps
        called_at,
        called_at_local,
        loaded_at,

        -- as delivered (trimmed), for quarantine and audit
        timestamp_raw,
        timestamp_zone,
        api_name_raw,
        api_version_raw,
        region_raw,
        client_type_raw,
        document_type_raw,
        attempt_no_raw,
        status_raw,
        status_code_raw,
        latency_ms_raw,
        error_reason_raw
    from timestamps_resolved
)

select * from renamed
