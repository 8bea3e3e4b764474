{#
    Clients whose calls fail authentication (401/403) more than the rest of
    the platform's: revoked or unrotated keys, missing entitlements. Tested
    like every other segment (doc rca_failure_lift), BH across clients.
#}
{%- set min_calls = var('rca_min_calls') -%}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

per_client as (
    select
        client_id,
        min(client_type) as client_type,
        count(*) as calls,
        sum(case when failure_class = 'auth' then 1 else 0 end) as auth_failures,
        count(distinct case when failure_class = 'auth' then api_name end) as apis_affected,
        min(case when failure_class = 'auth' then called_at end) as first_auth_failure_at,
        max(case when failure_class = 'auth' then called_at end) as last_auth_failure_at
    from calls
    -- a log without client ids says nothing about clients: `unknown` is no client
    where client_id != 'unknown'
    group by client_id
),

platform as (
    select
        sum(calls) as calls,
        sum(auth_failures) as auth_failures
    from per_client
),

reasons as (
    select
        client_id,
        error_reason,
        row_number() over (partition by client_id order by count(*) desc, error_reason) as reason_rank
    from calls
    where failure_class = 'auth'
    group by client_id, error_reason
),

tested as (
    select
        per_client.*,
        {{ api_trust.safe_rate(
            'platform.auth_failures - per_client.auth_failures', 'platform.calls - per_client.calls'
        ) }} as baseline_rate,
        case
            when per_client.calls >= {{ min_calls }} and platform.calls - per_client.calls >= {{ min_calls }}
                then {{ api_trust.proportion_z(
                'per_client.auth_failures', 'per_client.calls',
                api_trust.safe_rate(
                    'platform.auth_failures - per_client.auth_failures', 'platform.calls - per_client.calls'
                ),
                '1 + cast(per_client.calls as double) / (platform.calls - per_client.calls)'
            ) }}
        end as z_score
    from per_client
    cross join platform
),

with_p as (
    select
        *,
        {{ api_trust.upper_p('z_score') }} as p_value
    from tested
),

adjusted as (
    {{ api_trust.bh_q_values('with_p', 'p_value') }}
),

final as (
    select
        -- ids
        adjusted.client_id,

        -- strings
        adjusted.client_type,
        reasons.error_reason as dominant_error_reason,

        -- numbers
        cast(adjusted.calls as bigint) as calls,
        cast(adjusted.auth_failures as bigint) as auth_failures,
        {{ api_trust.safe_rate('adjusted.auth_failures', 'adjusted.calls') }} as auth_failure_rate,
        {{ api_trust.wilson_lower('adjusted.auth_failures', 'adjusted.calls') }} as auth_failure_rate_ci_lower,
        {{ api_trust.wilson_upper('adjusted.auth_failures', 'adjusted.calls') }} as auth_failure_rate_ci_upper,
        adjusted.baseline_rate,
        {{ api_trust.safe_rate('adjusted.auth_failures', 'adjusted.calls * adjusted.baseline_rate') }} as lift,
        adjusted.auth_failures - adjusted.calls * adjusted.baseline_rate as excess_failures,
        cast(adjusted.apis_affected as bigint) as apis_affected,
        adjusted.z_score,
        adjusted.p_value,
        adjusted.q_value,

        -- booleans
        coalesce(
            adjusted.q_value <= {{ var('rca_fdr_q') }}
            and adjusted.auth_failures > adjusted.calls * adjusted.baseline_rate,
            false
        ) as is_significant,

        -- timestamps
        adjusted.first_auth_failure_at,
        adjusted.last_auth_failure_at
    from adjusted
    left join reasons
        on
            adjusted.client_id = reasons.client_id
            and reasons.reason_rank = 1
)

select * from final
