{#
    The one pass over the facts that every time model reads: API traffic
    counted per API and 5-minute bucket, by outcome (success, failure class,
    error reason) and latency SLI. Counts merge exactly into hours and SLO
    windows, and a bucket depends only on its own calls and its API's latency
    SLO, so it is incremental by day (doc incremental_days): a run counts the
    days whose facts changed, and a changed SLO catalogue recounts every day.
    An API with no SLO of its own has the default latency SLO (a var folded
    into the fingerprint), so a new such API changes no past day and its row
    is left out of the fingerprint.
#}
{#- before_begin: sync_all_columns alters the table after the pre-hook's delete when the model
    gains a column (why: macro delete_stale_days) -#}
{{ config(
    materialized=api_trust.incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    meta={
        'day_inputs': {'int_api_slos_resolved': "slo_source != 'default'"},
        'day_vars': ['slo_default_latency_slo_ms'],
    },
    pre_hook=before_begin("{{ api_trust.delete_stale_days('cast(bucket_at as date)') }}"),
    post_hook="{{ api_trust.record_days_built() }}",
) }}

-- depends_on: {{ ref('int_call_days_fingerprinted') }}, {{ ref('int_incremental_days_built') }}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where
        is_api_traffic is not false
        -- incremental by day: the days whose facts changed
        and {{ api_trust.in_stale_days('cast(called_at as date)') }}
),

slos as (
    select * from {{ ref('int_api_slos_resolved') }}
),

classified as (
    select
        calls.api_name,
        -- an integer step groups faster than a timestamp bucket
        {{ api_trust.time_step_number('calls.called_at', 5) }} as step_no,
        calls.is_success,
        calls.failure_class,
        calls.error_reason,
        coalesce(calls.is_success and calls.latency_ms <= slos.latency_slo_ms, false) as is_latency_good,
        calls.sample_weight
    from calls
    left join slos
        on calls.api_name = slos.api_name
),

counted as (
    select
        api_name,
        step_no,
        is_success,
        failure_class,
        error_reason,
        is_latency_good,
        count(*) as calls,
        sum(sample_weight) as weighted_calls
    from classified
    group by
        api_name,
        step_no,
        is_success,
        failure_class,
        error_reason,
        is_latency_good
),

final as (
    select
        -- strings
        api_name,
        failure_class,
        error_reason,

        -- numbers
        cast(calls as bigint) as calls,
        cast(weighted_calls as double) as weighted_calls,

        -- booleans
        is_success,
        is_latency_good,

        -- timestamps
        cast({{ api_trust.add_minutes("cast('2000-01-01 00:00:00' as timestamp)", 'step_no * 5') }} as timestamp)
            as bucket_at
    from counted
)

select * from final
