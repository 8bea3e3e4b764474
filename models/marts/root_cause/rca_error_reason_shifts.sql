{#
    Error reasons by API, now vs before: the second half of the data window
    against the first half (the same split that tells new findings from
    chronic ones), per call of the API, with a two-sided test and BH.
#}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

halves as (
    select
        floor(
            ({{ api_trust.hour_number('min(called_at)') }} + {{ api_trust.hour_number('max(called_at)') }} + 1) / 2.0
        ) as middle_hour_no
    from calls
),

periods as (
    select
        calls.api_name,
        calls.error_reason,
        {{ api_trust.hour_number('calls.called_at') }} >= halves.middle_hour_no as is_current
    from calls
    cross join halves
),

api_calls as (
    select
        api_name,
        sum(case when is_current then 0 else 1 end) as previous_calls,
        sum(case when is_current then 1 else 0 end) as current_calls,
        sum(case when not is_current and error_reason is not null then 1 else 0 end) as previous_api_failures,
        sum(case when is_current and error_reason is not null then 1 else 0 end) as current_api_failures
    from periods
    group by api_name
),

reason_counts as (
    select
        api_name,
        error_reason,
        sum(case when is_current then 0 else 1 end) as previous_failures,
        sum(case when is_current then 1 else 0 end) as current_failures
    from periods
    where error_reason is not null
    group by api_name, error_reason
),

tested as (
    select
        reason_counts.*,
        api_calls.previous_calls,
        api_calls.current_calls,
        api_calls.previous_api_failures,
        api_calls.current_api_failures,
        case
            when
                api_calls.previous_calls >= {{ var('rca_min_calls') }}
                and api_calls.current_calls >= {{ var('rca_min_calls') }}
                then {{ api_trust.two_proportion_z(
                'reason_counts.current_failures', 'api_calls.current_calls',
                'reason_counts.previous_failures', 'api_calls.previous_calls'
            ) }}
        end as z_score
    from reason_counts
    inner join api_calls
        on reason_counts.api_name = api_calls.api_name
),

with_p as (
    select
        *,
        {{ api_trust.two_sided_p('z_score') }} as p_value
    from tested
),

adjusted as (
    {{ api_trust.bh_q_values('with_p', 'p_value') }}
),

final as (
    select
        -- strings
        api_name,
        error_reason,
        case
            when current_failures * previous_calls > previous_failures * current_calls then 'up'
            when current_failures * previous_calls < previous_failures * current_calls then 'down'
            else 'flat'
        end as direction,

        -- numbers
        cast(previous_failures as bigint) as previous_failures,
        cast(current_failures as bigint) as current_failures,
        {{ api_trust.safe_rate('previous_failures', 'previous_calls') }} as previous_rate,
        {{ api_trust.safe_rate('current_failures', 'current_calls') }} as current_rate,
        {{ api_trust.safe_rate('current_failures', 'current_calls') }}
        - {{ api_trust.safe_rate('previous_failures', 'previous_calls') }} as rate_change,
        {{ api_trust.safe_rate('previous_failures', 'previous_api_failures') }} as previous_share_of_failures,
        {{ api_trust.safe_rate('current_failures', 'current_api_failures') }} as current_share_of_failures,
        cast(row_number() over (
            partition by api_name order by current_failures desc, error_reason asc
        ) as integer) as current_reason_rank,
        z_score,
        p_value,
        q_value,

        -- booleans
        coalesce(q_value <= {{ var('rca_fdr_q') }}, false) as is_significant
    from adjusted
)

select * from final
