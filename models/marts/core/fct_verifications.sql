{#
    One row per end-user verification: its attempts, whether the first one
    passed, whether any did, and how long the user waited. Conversion is
    measured here, not on calls: retries make call-level failure look worse
    than what users finally get.

    Incremental by day (doc incremental_days): a run rebuilds every
    verification with a call on a day whose facts changed, or spanning such a
    day, from all of its calls, and drops the verifications left without calls.
    Owner and family come from dim_apis, whose catalogued rows are folded into
    the days' fingerprint: a changed catalogue rebuilds every day. Its rows for
    APIs outside the catalogue are alike (family UNKNOWN, the default team, a
    var also folded in), so a new one, as new templated routes and typos bring
    with most batches, changes no past day and is left out.
#}
{{ config(
    materialized=api_trust.incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='verification_id',
    on_schema_change='fail',
    meta={'day_inputs': {'dim_apis': 'is_known_api'}, 'day_vars': ['default_owner_team']},
    post_hook=[
        "{{ api_trust.delete_verifications_without_calls() }}",
        "{{ api_trust.record_days_built() }}",
    ],
) }}

{#- what a verification takes from its first attempt, beside whether it passed #}
{%- set first_attempt_columns = ['client_id', 'api_name', 'api_family', 'owner_team', 'region',
    'document_type', 'client_type', 'failure_class'] %}

-- depends_on: {{ ref('int_call_days_fingerprinted') }}, {{ ref('int_incremental_days_built') }}, {{ ref('dim_apis') }}

with

{%- if is_incremental() %}

stale_days as (
    {{ api_trust.stale_days() }}
),

touched_verifications as (
    -- a call on a stale day, or a verification built before that spans one (it may have
    -- lost calls there)
    select api_calls.verification_id
    from {{ ref('fct_api_calls') }} as api_calls
    where cast(api_calls.called_at as date) in (select stale_days.called_on from stale_days)
    union
    {{ api_trust.verifications_spanning_stale_days('stale_days') }}
),
{%- endif %}

calls as {{ api_trust.inline_cte() }} (
    -- read twice (roll-up, first attempts): inline, not stored whole, and only the columns
    -- used. API traffic only: health checks, static assets, bots and probes stay in facts
    select
        verification_id,
        request_id,
        called_at,
        latency_ms,
        is_success,
        {{ api_trust.call_order_key('called_at', 'attempt_no', 'request_id') }} as call_order_key,
        {{ first_attempt_columns | join(',\n        ') }}
    from {{ ref('fct_api_calls') }}
    where is_api_traffic is not false
    {%- if is_incremental() %}
        -- every call of the verifications to rebuild, whatever its day
        and verification_id in (select touched_verifications.verification_id from touched_verifications)
    {%- endif %}
),

rolled_up as (
    -- numbers only: fixed-size aggregate states, which spill
    select
        verification_id,
        count(*) as attempts,
        sum(case when is_success then 1 else 0 end) as successful_attempts,
        max(case when is_success then 1 else 0 end) = 1 as eventually_passed,
        min(called_at) as first_called_at,
        max(called_at) as last_called_at,
        -- the first attempt: earliest call, then lowest attempt number, then the request id's
        -- digest (call_order_key), found below by an equi-join on it (where digests tie, the
        -- lower request id). Neither a window (its sort of every call was the model's largest
        -- cost at 10M rows) nor min_by over the columns (an aggregate state holding text
        -- cannot spill: out of memory at 100M)
        min(call_order_key) as first_call_order_key,
        -- the user waits until the first successful answer arrives: its start plus its
        -- latency (a log without latency, such as an access log: until it started).
        -- In whole milliseconds from a fixed instant (exact), so the verification's own
        -- start can be taken off after the aggregation
        min(case when is_success then
                {{ api_trust.milliseconds_between("cast('2000-01-01' as timestamp)", 'called_at') }}
                + coalesce(latency_ms, 0)
        end) as first_success_answered_ms
    from calls
    group by verification_id
),

first_attempt_calls as {{ api_trust.inline_cte() }} (
    -- the calls at a verification's first key. Two are found only where two calls of one
    -- verification share the microsecond, the attempt and the request ids' digest, which a
    -- crafted file can do; only a verification of several calls can tie
    select
        rolled_up.*,
        calls.request_id,
        calls.is_success,
        {{ 'calls.' ~ first_attempt_columns | join(',\n        calls.') }}
    from rolled_up
    inner join calls
        on
            rolled_up.verification_id = calls.verification_id
            and rolled_up.first_call_order_key = calls.call_order_key
),

first_calls_ranked as (
    -- of a verification of several calls, its calls at the first key by request id
    select
        first_attempt_calls.*,
        row_number() over (
            partition by first_attempt_calls.verification_id order by first_attempt_calls.request_id
        ) as tie_rank
    from first_attempt_calls
    where first_attempt_calls.attempts > 1
),

first_attempts as (
    -- one call each: a verification of one call cannot tie; of several, a tie goes to the
    -- lower request id. Split so that only the few verifications of several calls are
    -- ranked: a window or a count over every verification cost +20% of this model at 10M
    select
        first_attempt_calls.*,
        1 as tie_rank
    from first_attempt_calls
    where first_attempt_calls.attempts = 1
    union all
    select * from first_calls_ranked
    where tie_rank = 1
),

final as (
    select
        -- ids
        first_attempts.verification_id,
        first_attempts.client_id,

        -- strings
        first_attempts.api_name,
        first_attempts.api_family,
        first_attempts.owner_team,
        first_attempts.region,
        first_attempts.document_type,
        first_attempts.client_type,
        first_attempts.failure_class as first_failure_class,

        -- numbers
        cast(first_attempts.attempts as integer) as attempts,
        cast(first_attempts.successful_attempts as integer) as successful_attempts,
        (
            first_attempts.first_success_answered_ms
            - {{ api_trust.milliseconds_between("cast('2000-01-01' as timestamp)", 'first_attempts.first_called_at') }}
        ) / 1000.0 as seconds_to_verify,

        -- booleans
        first_attempts.is_success as first_attempt_passed,
        first_attempts.eventually_passed,

        -- timestamps
        first_attempts.first_called_at,
        first_attempts.last_called_at
    from first_attempts
)

select * from final
