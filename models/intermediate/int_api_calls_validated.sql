{#
    Every landed record, checked against the contract and routed to exactly one
    place: `fact` (fct_api_calls), `quarantine` (dq_quarantine, with every
    reason) or `duplicate` (a later delivery of a request_id already seen).
    One issue column per input column; `reasons` joins them in a fixed order.

    Stored as Parquet files, one per run, and kept up to date by batch
    (macros/batch_files.sql): a run checks only batches it has not seen, and a
    later delivery of a call_id counts the deliveries already stored. Batches
    that left the landing zone (a regenerated demo) are dropped from the files
    first. Each file's name carries the key of the definition that wrote it (this
    model's code, the seeds and vars in `meta`, and the routes a service over
    vars.max_routes_per_service keeps, which a new batch's calls can change): a
    run after a change of any of them checks every batch again. On Spark, a
    table rebuilt whole. A full build runs it alone (every other model reads
    it), so it takes every core while it runs (macros/query_threads.sql).
#}
{{ config(
    materialized=api_trust.batch_files_materialization(),
    pre_hook=[
        before_begin("{{ api_trust.drop_batch_files_no_longer_landed(ref('stg_logs__load_batches')) }}"),
        "{{ api_trust.query_threads_for_a_model_run_alone() }}",
    ],
    post_hook="{{ api_trust.query_threads_shared_again() }}",
    meta={
        'batch_inputs': {'value_aliases': none, 'error_reasons': none, 'api_catalogue': none, 'route_patterns': none,
            'int_api_routes_mapped': {
                'rows': 'is_service_folding and not is_folded_route and not is_mapped_route',
                'columns': ['service_name', 'http_method', 'route_template'],
            }},
        'batch_vars': ['log_columns', 'log_column_aliases', 'min_timestamp', 'future_tolerance_hours',
            'max_latency_ms', 'api_version_pattern', 'non_api_methods', 'health_check_route_pattern',
            'static_asset_route_pattern', 'max_routes_per_service'],
    },
) }}
{%- set incremental = api_trust.is_batch_files_incremental() -%}
{%- set required = api_trust.required_log_columns() -%}
{%- set issue_columns = api_trust.validation_issue_columns() -%}
{%- set min_called_at = "cast('" ~ var('min_timestamp') ~ "' as timestamp)" -%}
{%- set max_called_at = api_trust.add_hours('loaded_at', var('future_tolerance_hours')) -%}
{%- set quarantine_only = ['timestamp_raw', 'api_name_raw', 'api_version_raw', 'region_raw',
    'client_type_raw', 'document_type_raw', 'status_raw', 'status_code_raw', 'latency_ms_raw',
    'error_reason_raw', 'timestamp_zone', 'called_at_local', 'local_time_matches'] -%}

-- depends_on: {{ ref('stg_logs__load_batches') }}
-- depends_on: {{ ref('route_patterns') }}

with

api_calls as {{ api_trust.inline_cte() }} (
    select * from {{ ref('stg_logs__api_calls') }}
    {%- if incremental %}
        -- the batches not checked yet, as a list of constants: the filter then reaches the
        -- landed files, which skip every other batch (a subquery here read them all)
        where batch_id in {{ api_trust.sql_list(api_trust.batches_not_yet_in(this)) }}
    {%- endif %}
),

batch_columns as (
    select * from {{ ref('stg_logs__load_batch_columns') }}
),

value_aliases as (
    select * from {{ ref('value_aliases') }}
),

error_reasons as (
    select * from {{ ref('error_reasons') }}
),

api_catalogue as (
    select * from {{ ref('api_catalogue') }}
),

api_routes as (
    select * from {{ ref('int_api_routes_mapped') }}
),

batch_shape as (
    -- which required columns each batch delivered, under any known name
    select
        batch_id,
        {{ api_trust.batch_has_required_columns() }},
        max(case when canonical_name = 'route' then 1 else 0 end) = 1 as has_route,
        max(case when canonical_name = 'request_id' then 1 else 0 end) = 1 as has_request_id
    from batch_columns
    group by batch_id
),

record_copies as (
    -- in a batch of a shape without request ids, which copy of an identical record each
    -- line is; numbered over those batches' keys alone (a window over every row and column
    -- was a quarter of this model's time)
    select
        api_calls.batch_id,
        api_calls.source_record_no,
        api_calls.record_hash,
        row_number() over (
            partition by api_calls.batch_id, api_calls.record_hash order by api_calls.source_record_no
        ) as copy_no
    from api_calls
    inner join batch_shape
        on api_calls.batch_id = batch_shape.batch_id
    where not batch_shape.has_request_id
),

keyed as {{ api_trust.inline_cte() }} (
    -- every record's call id: its request id; in a shape without request ids the hash of
    -- the whole record and its copy number, so overlapping rotated files de-duplicate; an
    -- empty id in a batch that has ids: its position. Read twice, by the narrow call_keys
    -- and by the wide checks, each computing only what it reads: a wide CTE read twice
    -- would be stored whole (at 10M rows it spilled 18 GB). The record's hash comes from
    -- record_copies, so the call ids read no column but the request id
    select
        api_calls.*,
        coalesce(
            api_calls.request_id,
            'rec_' || record_copies.record_hash || '_' || cast(record_copies.copy_no as string),
            api_calls.batch_id || '#' || cast(api_calls.source_record_no as string)
        ) as call_id,
        api_calls.request_id is null as is_request_id_derived
    from api_calls
    left join record_copies
        on
            api_calls.batch_id = record_copies.batch_id
            and api_calls.source_record_no = record_copies.source_record_no
),

call_keys as (
    -- the few columns that order deliveries, stored once for the steps that read them
    select
        batch_id,
        source_record_no,
        loaded_at,
        call_id
    from keyed
),

routes_resolved as (
    -- a call that names no API but a route gets the route's API (seed route_patterns,
    -- else the templated route); missing versions come from the path
    select
        {{ api_trust.star_except('api_calls', ['api_name', 'api_version']) }},
        coalesce(api_calls.api_name, api_routes.api_name) as api_name,
        coalesce(api_calls.api_version, api_routes.path_version) as api_version,
        api_calls.api_name is null and api_routes.api_name is not null as is_api_from_route,
        coalesce(api_routes.is_folded_route, false) as is_folded_route
    from keyed as api_calls
    left join api_routes
        on
            api_calls.service_name = api_routes.service_name
            and coalesce(api_calls.http_method, 'ANY') = api_routes.http_method
            and api_calls.route_template = api_routes.route_template
),

normalised as (
    select
        api_calls.*,
        region_alias.canonical_value as region_delivered,
        client_type_alias.canonical_value as client_type_delivered,
        document_type_alias.canonical_value as document_type_delivered,
        status_alias.canonical_value as status_delivered,
        error_reasons.failure_class as delivered_failure_class,
        api_catalogue.api_name is not null as is_known_api,
        {{ api_trust.has_required_column_flags('batch_shape') }},
        coalesce(batch_shape.has_route, false) as has_route_column
    from routes_resolved as api_calls
    left join batch_shape
        on api_calls.batch_id = batch_shape.batch_id
    left join value_aliases as region_alias
        on
            region_alias.dimension = 'region'
            and api_calls.region_key = region_alias.alias_key
    left join value_aliases as client_type_alias
        on
            client_type_alias.dimension = 'client_type'
            and api_calls.client_type_key = client_type_alias.alias_key
    left join value_aliases as document_type_alias
        on
            document_type_alias.dimension = 'document_type'
            and api_calls.document_type_key = document_type_alias.alias_key
    left join value_aliases as status_alias
        on
            status_alias.dimension = 'status'
            and api_calls.status_key = status_alias.alias_key
    left join error_reasons
        on api_calls.error_reason = error_reasons.error_reason
    left join api_catalogue
        on api_calls.api_name = api_catalogue.api_name
),

status_code_reasons as (
    -- the reason a status code stands for (seed rows http_<code>), for logs without reasons
    select
        normalised.*,
        code_reasons.error_reason as code_error_reason,
        code_reasons.failure_class as code_reason_class
    from normalised
    left join error_reasons as code_reasons
        on code_reasons.error_reason = 'http_' || cast(normalised.status_code as string)
),

protocol as (
    -- what the protocol says where the log does not: a dimension the batch never
    -- delivered is `unknown`; status from the status code (2xx/3xx succeed) or an
    -- OpenTelemetry ERROR; a failure without a reason gets `http_<code>` (seed
    -- error_reasons, else http_4xx/http_5xx), `otel_error` when only the span says so
    select
        *,
        -- a value the seed does not list (a team's own region, client or document type) is
        -- kept as delivered: the seed merges spellings, it does not decide what exists
        {%- for dim in ['region', 'client_type', 'document_type'] %}
            case when has_{{ dim }}_column then coalesce({{ dim }}_delivered, {{ dim }}_raw) else 'unknown' end
                as {{ dim }},
        {%- endfor %}
        -- kept as delivered: the flag an analyst filters by (the build warns per value)
        coalesce(
            {%- for dim in ['region', 'client_type', 'document_type'] %}
                (has_{{ dim }}_column and {{ dim }}_delivered is null and {{ dim }}_raw is not null)
                {{- ' or' if not loop.last }}
            {%- endfor %}, false
        ) as has_unlisted_value,
        case
            when has_status_column then status_delivered
            when otel_status = 'ERROR' then 'fail'
            when status_code between 100 and 399 then 'success'
            when status_code between 400 and 599 then 'fail'
        end as status,
        case
            when has_status_column then 'delivered_status'
            when otel_status = 'ERROR' then 'otel_status'
            when status_code is not null then 'http_status_code'
        end as classified_by,
        case
            -- a failure the log gives no reason for, whether it has the column or not: a
            -- failure all the same, its reason from its status code (quarantined, it would
            -- be missing from every failure rate)
            when error_reason is not null then null
            when has_status_column and status_delivered != 'fail' then null
            when
                not has_status_column and coalesce(otel_status, '') != 'ERROR'
                and coalesce(status_code, 0) < 400
                then null
            when code_error_reason is not null then code_error_reason
            when status_code between 400 and 499 then 'http_4xx'
            when status_code between 500 and 599 then 'http_5xx'
            when otel_status = 'ERROR' then 'otel_error'
        end as derived_error_reason,
        case
            when code_error_reason is not null then code_reason_class
            when status_code between 400 and 499 then 'client_input'
            when status_code between 500 and 599 then 'server'
        end as code_failure_class
    from status_code_reasons
),

reasons_resolved as (
    select
        {{ api_trust.star_except('protocol', ['error_reason']) }},
        coalesce(protocol.error_reason, protocol.derived_error_reason) as error_reason,
        protocol.derived_error_reason is not null as is_error_reason_derived,
        coalesce(
            protocol.delivered_failure_class,
            derived_reasons.failure_class,
            -- a reason outside seed error_reasons (a gateway's error.type, a team's own word
            -- for a failure) is kept and classed by its status code; without one it cannot
            -- be classed and is quarantined (unknown_error_reason below)
            case when protocol.status = 'fail' then protocol.code_failure_class end
        ) as failure_class
    from protocol
    left join error_reasons as derived_reasons
        on protocol.derived_error_reason = derived_reasons.error_reason
),

checked as (
    select
        *,
        case
            when not has_timestamp_column then 'missing_column_timestamp'
            when timestamp_raw is null then 'missing_timestamp'
            when called_at_local is null then 'unparseable_timestamp'
            -- a wall-clock time far outside the window was never converted (called_at null)
            when called_at is null and called_at_local < {{ min_called_at }} then 'timestamp_out_of_range'
            when called_at is null and called_at_local > {{ max_called_at }} then 'future_timestamp'
            when not is_time_zone_known then 'unknown_time_zone'
            when local_time_matches = 0 then 'nonexistent_local_time'
            when local_time_matches > 1 then 'ambiguous_local_time'
            when called_at is null then 'unparseable_timestamp'
            when called_at < {{ min_called_at }} then 'timestamp_out_of_range'
            when called_at > {{ max_called_at }} then 'future_timestamp'
        end as timestamp_issue,
        case
            when api_name is null and span_kind not in ('SERVER', 'UNSPECIFIED')
                then 'not_a_server_span'
            when not has_api_name_column and not has_route_column then 'missing_column_api_name'
            when api_name is null then 'missing_api_name'
            when not is_api_from_route and not {{ api_trust.full_match('api_name', '[A-Z][A-Z0-9_]*') }}
                then 'invalid_api_name'
        end as api_name_issue,
        case
            -- a batch without versions (an access log) is `unknown`; an empty value is not,
            -- except in a log that delivers routes (a gateway's or tracer's), whose records
            -- need not all carry one (a Cloud Run revision, an OTel service.version): there
            -- the version comes from the path, as for a batch without versions
            when has_api_version_column and api_version_raw is null and not has_route_column
                then 'missing_api_version'
            when api_version is not null and not {{ api_trust.full_match('api_version', var('api_version_pattern')) }}
                then 'invalid_api_version'
        end as api_version_issue,
        {%- for dim in ['region', 'client_type', 'document_type'] %}
            case
                when not has_{{ dim }}_column then null
                when {{ dim }}_raw is null then 'missing_{{ dim }}'
                -- no letter or digit in any script (`-`, `?`, `--`): a placeholder, not a value
                when {{ dim }}_key is null and not {{ api_trust.has_letter_or_digit(dim ~ '_raw') }}
                    then 'missing_{{ dim }}'
            end as {{ dim }}_issue,
        {%- endfor %}
        case
            when not has_status_column and not has_status_code_column then 'missing_column_status'
            when has_status_column and status_raw is null then 'missing_status'
            when has_status_column and status_delivered is null then 'unknown_status'
        end as status_issue,
        case
            when not has_status_code_column then null
            when status_code_raw is null then 'missing_status_code'
            -- three digits as written: 200.5, 2e2, 0x0C8, +200 and 0200 are refused, not coerced
            when status_code is null or not {{ api_trust.full_match('status_code_raw', '[1-5][0-9]{2}') }}
                then 'invalid_status_code'
        end as status_code_issue,
        case
            -- a shape without latency (plain combined access logs) has none: null, not an error
            when not has_latency_ms_column then null
            -- a gateway's, load balancer's or tracer's log (it delivers routes) writes no time
            -- for a call its upstream never answered (an ALB's -1): the call is kept without
            -- one, or such logs would lose exactly their gateway errors
            when latency_ms_raw is null and has_route_column then null
            when latency_ms_raw is null then 'missing_latency_ms'
            when latency_ms is null then 'invalid_latency_ms'
            -- 0 is a measurement: a call faster than the log's resolution (whole milliseconds)
            when latency_ms < 0 then 'negative_latency_ms'
            when latency_ms > {{ var('max_latency_ms') }} then 'absurd_latency_ms'
        end as latency_ms_issue,
        case
            when status = 'fail' and error_reason is null then 'missing_error_reason'
            when status = 'success' and error_reason is not null then 'error_reason_on_success'
            when error_reason is not null and failure_class is null then 'unknown_error_reason'
        end as error_reason_issue,
        case
            when attempt_no_raw is not null and (attempt_no is null or attempt_no < 1)
                then 'invalid_attempt_no'
        end as attempt_no_issue,
        case
            when classified_by != 'delivered_status' then null
            when status = 'success' and status_code not between 200 and 299 then 'status_code_mismatch'
            when status = 'fail' and status_code between 200 and 299 then 'status_code_mismatch'
        end as consistency_issue,
        -- what kind of traffic this is: only `api` reaches the metric marts
        case
            when http_method in {{ api_trust.sql_list(var('non_api_methods')) }} then 'probe_method'
            when {{ api_trust.matches('lower(http_route)', var('health_check_route_pattern')) }} then 'health_check'
            when {{ api_trust.matches('lower(http_route)', var('static_asset_route_pattern')) }} then 'static_asset'
            when user_agent_family = 'bot' then 'bot'
            when span_kind is not null and span_kind not in ('SERVER', 'UNSPECIFIED') then 'internal_span'
            else 'api'
        end as traffic_class
    from reasons_resolved
),

spans_unchecked as (
    -- a span that is no API call (not_a_server_span) is not checked as one: that is its
    -- one reason. A CLIENT span has no status code, and its missing_status_code made
    -- "missing status code" the commonest defect of a clean trace export
    select
        {{ api_trust.star_except('checked', issue_columns) }},
        {%- for issue in issue_columns | reject('equalto', 'api_name_issue') %}
            case when checked.api_name_issue = 'not_a_server_span' then null else checked.{{ issue }} end
                as {{ issue }},
        {%- endfor %}
        checked.api_name_issue
    from checked
),

reasoned as (
    select
        *,
        nullif(concat_ws(';', {{ issue_columns | join(', ') }}), '') as reasons
    from spans_unchecked
),

{%- if incremental %}

earlier_deliveries as (
    -- deliveries of the same call_ids stored by earlier runs
    select
        stored.call_id,
        count(*) as delivery_count
    from {{ this }} as stored
    where stored.call_id in (select call_keys.call_id from call_keys)
    group by stored.call_id
),
{%- endif %}

repeated_calls as (
    -- the few call_ids delivered more than once (here or in earlier runs): only
    -- these need ordering, which is far cheaper than a window over every row
    select call_keys.call_id
    from call_keys
    group by call_keys.call_id
    having count(*) > 1
    {%- if incremental %}
        union
        select earlier_deliveries.call_id
        from earlier_deliveries
    {%- endif %}
),

redelivery_order as (
    select
        call_keys.batch_id,
        call_keys.source_record_no,
        call_keys.call_id,
        row_number() over (
            partition by call_keys.call_id
            order by call_keys.loaded_at, call_keys.batch_id, call_keys.source_record_no
        ) as delivery_no_in_run
    from call_keys
    inner join repeated_calls
        on call_keys.call_id = repeated_calls.call_id
),

redelivered as (
    select
        redelivery_order.batch_id,
        redelivery_order.source_record_no,
        {%- if incremental %}
            redelivery_order.delivery_no_in_run
            + coalesce(earlier_deliveries.delivery_count, 0) as delivery_no
        from redelivery_order
        left join earlier_deliveries
            on redelivery_order.call_id = earlier_deliveries.call_id
        {%- else %}
            redelivery_order.delivery_no_in_run as delivery_no
        from redelivery_order
        {%- endif %}
),

sequenced as (
    select
        reasoned.*,
        coalesce(redelivered.delivery_no, 1) as delivery_no
    from reasoned
    left join redelivered
        on
            reasoned.batch_id = redelivered.batch_id
            and reasoned.source_record_no = redelivered.source_record_no
),

routed as (
    select
        *,
        case
            when delivery_no > 1 then 'duplicate'
            -- a trace's CLIENT or INTERNAL span without a route is no API call: no defect
            -- either, so it is set aside (counted per batch), not quarantined; a clean
            -- export of traces can be mostly such spans
            when reasons = 'not_a_server_span' then 'set_aside'
            when reasons is not null then 'quarantine'
            else 'fact'
        end as route
    from sequenced
),

final as (
    -- what only a quarantined record needs (its delivered text, its zone) is null on the
    -- others: dq_quarantine shows it, and writing it for every fact cost this model about
    -- a tenth of its time
    select
        -- ids
        call_id,
        verification_id,
        client_id,
        batch_id,
        source_name,
        source_record_no,

        -- strings
        api_name,
        coalesce(api_version, 'unknown') as api_version,
        region,
        client_type,
        document_type,
        status,
        error_reason,
        failure_class,
        error_message,
        http_method,
        http_route,
        route_template,
        service_name,
        span_kind,
        trace_id,
        client_ip,
        user_agent_family,
        traffic_class,
        classified_by,
        route,
        reasons,
        {{ issue_columns | join(',\n        ') }},

        -- what only a quarantined record needs: null on facts and duplicates
        {%- for column in quarantine_only %}
            case when route = 'quarantine' then {{ column }} end as {{ column }},
        {%- endfor %}

        -- numbers
        status_code,
        latency_ms,
        upstream_latency_ms,
        sample_rate,
        attempt_no,
        delivery_no,

        -- booleans
        is_known_api,
        has_unlisted_value,
        is_api_from_route,
        is_folded_route,
        is_error_reason_derived,
        is_request_id_derived,
        has_pii_in_message,
        is_time_zone_known,

        -- delivered fields outside the contract (name -> value), for fct_call_dimensions
        extra_fields,

        -- timestamps
        called_at,
        loaded_at,
        -- the run that validated the batch: a batch's facts change only when it is validated
        -- again (a full refresh), which int_fact_batches_scanned_for_pii must see
        cast('{{ run_started_at }}' as timestamp) as validated_at
    from routed
)

select * from final
