{#
    Each version of an API against the version before it: p95 latency of
    successful calls and failure rate, the difference and a one-sided test of
    "worse" for each (doc rca_version_tests). Benjamini-Hochberg per metric.
#}
{%- set min_calls = var('rca_min_calls') -%}
{%- set fdr = var('rca_fdr_q') -%}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

apis as (
    select * from {{ ref('dim_apis') }}
),

version_stats as (
    select
        api_name,
        api_version,
        count(*) as calls,
        sum(case when is_success then 0 else 1 end) as failures,
        sum(case when is_success then 1 else 0 end) as successful_calls,
        {{ api_trust.percentile_list('case when is_success then latency_ms end', [0.5, 0.95]) }} as latency_pcts
    from calls
    where api_version != 'unknown'
    group by api_name, api_version
),

sequenced as (
    select
        api_name,
        api_version,
        calls,
        failures,
        successful_calls,
        {{ api_trust.percentile_at('latency_pcts', 1) }} as p50_latency_ms,
        {{ api_trust.percentile_at('latency_pcts', 2) }} as p95_latency_ms,
        row_number() over (
            partition by api_name order by {{ api_trust.version_sort_key('api_version') }}
        ) as version_order
    from version_stats
    -- a version with too few calls is neither compared nor a reference
    where calls >= {{ min_calls }}
),

compared as (
    select
        newer.api_name,
        newer.api_version,
        older.api_version as previous_version,
        newer.calls,
        older.calls as previous_calls,
        newer.failures,
        older.failures as previous_failures,
        newer.successful_calls,
        older.successful_calls as previous_successful_calls,
        newer.p50_latency_ms,
        older.p50_latency_ms as previous_p50_latency_ms,
        newer.p95_latency_ms,
        older.p95_latency_ms as previous_p95_latency_ms
    from sequenced as newer
    inner join sequenced as older
        on
            newer.api_name = older.api_name
            and newer.version_order = older.version_order + 1
),

slow_counts as (
    -- successful calls of the newer version slower than the previous version's p95
    select
        compared.api_name,
        compared.api_version,
        sum(case when calls.latency_ms > compared.previous_p95_latency_ms then 1 else 0 end) as slow_calls
    from compared
    inner join calls
        on
            compared.api_name = calls.api_name
            and compared.api_version = calls.api_version
    where calls.is_success
    group by compared.api_name, compared.api_version
),

tested as (
    select
        compared.*,
        coalesce(slow_counts.slow_calls, 0) as slow_calls,
        case
            when compared.successful_calls >= {{ min_calls }} and compared.previous_successful_calls >= {{ min_calls }}
                then {{ api_trust.proportion_z(
                'coalesce(slow_counts.slow_calls, 0)', 'compared.successful_calls', '0.05',
                '1 + cast(compared.successful_calls as double) / compared.previous_successful_calls'
            ) }}
        end as latency_z_score,
        {{ api_trust.two_proportion_z(
            'compared.failures', 'compared.calls', 'compared.previous_failures', 'compared.previous_calls'
        ) }} as failure_z_score
    from compared
    left join slow_counts
        on
            compared.api_name = slow_counts.api_name
            and compared.api_version = slow_counts.api_version
),

with_p as (
    select
        *,
        {{ api_trust.upper_p('latency_z_score') }} as latency_p_value,
        {{ api_trust.upper_p('failure_z_score') }} as failure_p_value
    from tested
),

latency_adjusted as (
    {{ api_trust.bh_q_values('with_p', 'latency_p_value', q_column='latency_q_value') }}
),

adjusted as (
    {{ api_trust.bh_q_values('latency_adjusted', 'failure_p_value', q_column='failure_q_value') }}
),

flagged as (
    select
        -- strings
        adjusted.api_name,
        adjusted.api_version,
        adjusted.previous_version,
        apis.owner_team,

        -- numbers
        cast(adjusted.calls as bigint) as calls,
        cast(adjusted.previous_calls as bigint) as previous_calls,
        adjusted.p50_latency_ms,
        adjusted.previous_p50_latency_ms,
        adjusted.p95_latency_ms,
        adjusted.previous_p95_latency_ms,
        adjusted.p95_latency_ms - adjusted.previous_p95_latency_ms as p95_latency_diff_ms,
        {{ api_trust.safe_rate('adjusted.p95_latency_ms', 'adjusted.previous_p95_latency_ms') }} as p95_latency_ratio,
        {{ api_trust.safe_rate('adjusted.slow_calls', 'adjusted.successful_calls') }} as slow_share,
        cast(adjusted.slow_calls - 0.05 * adjusted.successful_calls as double) as excess_slow_calls,
        adjusted.latency_z_score,
        adjusted.latency_p_value,
        adjusted.latency_q_value,
        {{ api_trust.safe_rate('adjusted.failures', 'adjusted.calls') }} as failure_rate,
        {{ api_trust.safe_rate('adjusted.previous_failures', 'adjusted.previous_calls') }} as previous_failure_rate,
        {{ api_trust.safe_rate('adjusted.failures', 'adjusted.calls') }}
        - {{ api_trust.safe_rate('adjusted.previous_failures', 'adjusted.previous_calls') }} as failure_rate_diff,
        adjusted.failures - adjusted.calls
        * {{ api_trust.safe_rate('adjusted.previous_failures', 'adjusted.previous_calls') }} as excess_failures,
        adjusted.failure_z_score,
        adjusted.failure_p_value,
        adjusted.failure_q_value,

        -- booleans
        coalesce(
            adjusted.latency_q_value <= {{ fdr }}
            and adjusted.p95_latency_ms >= 1.1 * adjusted.previous_p95_latency_ms,
            false
        ) as is_latency_regression,
        coalesce(
            adjusted.failure_q_value <= {{ fdr }}
            and adjusted.failures * adjusted.previous_calls >= 1.1 * adjusted.previous_failures * adjusted.calls,
            false
        ) as is_failure_regression
    from adjusted
    left join apis
        on adjusted.api_name = apis.api_name
),

final as (
    select
        *,
        is_latency_regression or is_failure_regression as is_regression
    from flagged
)

select * from final
