-- Layout rule LT02 is off here: the linter cannot indent the jinja loop over metrics.
-- noqa: disable=LT02
{#
    Did a release make an API slower or less reliable? Each version against
    the version first seen before it, over the days both ran and stratified by
    day and every other dimension (a cutover, whose versions never ran on one
    day: before against after), (int_rca_versions_compared, doc
    rca_versions), on failures and on the share of successful calls slower
    than the API's usual p95; significance from the one false-discovery budget
    (int_rca_candidates_tested). Exact p95s per version sit beside them.
#}

with

compared as (
    select * from {{ ref('int_rca_versions_compared') }}
),

tested as (
    select * from {{ ref('int_rca_candidates_tested') }}
    where finding_type = 'version_regression'
),

latency as (
    select * from {{ ref('agg_latency_by_api_version') }}
),

apis as (
    select * from {{ ref('dim_apis') }}
),

metrics as (
    select
        compared.api_name,
        compared.api_version,
        min(compared.previous_version) as previous_version,
        min(compared.first_seen_at) as first_seen_at,
        bool_or(compared.is_released_in_window) as is_released_in_window,
        bool_or(compared.is_cutover) as is_cutover,
    {%- for metric, name in [('failure_rate', 'failure'), ('slow_call_share', 'slow')] %}
        max(case when compared.metric = '{{ metric }}' then compared.trials end) as {{ name }}_trials,
        max(case when compared.metric = '{{ metric }}' then compared.observed end) as {{ name }}_observed,
        max(case when compared.metric = '{{ metric }}' then compared.expected end) as {{ name }}_expected,
        max(case when compared.metric = '{{ metric }}' then compared.lift_lower end) as {{ name }}_lift_lower,
        max(case when compared.metric = '{{ metric }}' then compared.p_value end) as {{ name }}_p_value,
        max(case when compared.metric = '{{ metric }}' then tested.q_value end) as {{ name }}_q_value,
        coalesce(bool_or(compared.metric = '{{ metric }}' and tested.is_significant), false)
            as is_{{ name }}_significant{{ ',' if loop.first }}
    
{%- endfor %}
    from compared
    left join tested
        on
            compared.api_name = tested.api_name
            and tested.segment = 'api_name=' || compared.api_name || ', api_version=' || compared.api_version
            and compared.metric = tested.metric
    group by compared.api_name, compared.api_version
),

final as (
    select
        -- strings (text again: the cube's are ENUMs on DuckDB, macro rca_value_types)
        cast(metrics.api_name as string) as api_name,
        cast(metrics.api_version as string) as api_version,
        cast(metrics.previous_version as string) as previous_version,
        apis.owner_team,

        -- numbers
        cast(metrics.failure_trials as bigint) as calls,
        newer.p95_success_latency_ms as p95_latency_ms,
        older.p95_success_latency_ms as previous_p95_latency_ms,
        {{ api_trust.safe_rate('newer.p95_success_latency_ms', 'older.p95_success_latency_ms') }} as p95_latency_ratio,
        {{ api_trust.safe_rate('metrics.slow_observed', 'metrics.slow_trials') }} as slow_share,
        {{ api_trust.safe_rate('metrics.slow_expected', 'metrics.slow_trials') }} as expected_slow_share,
        metrics.slow_observed - metrics.slow_expected as excess_slow_calls,
        metrics.slow_lift_lower,
        metrics.slow_p_value as latency_p_value,
        metrics.slow_q_value as latency_q_value,
        {{ api_trust.safe_rate('metrics.failure_observed', 'metrics.failure_trials') }} as failure_rate,
        {{ api_trust.safe_rate('metrics.failure_expected', 'metrics.failure_trials') }} as expected_failure_rate,
        metrics.failure_observed - metrics.failure_expected as excess_failures,
        metrics.failure_lift_lower,
        metrics.failure_p_value,
        metrics.failure_q_value,

        -- booleans
        metrics.is_released_in_window,
        metrics.is_cutover,
        metrics.is_slow_significant as is_latency_regression,
        metrics.is_failure_significant as is_failure_regression,
        metrics.is_slow_significant or metrics.is_failure_significant as is_regression,

        -- timestamps
        metrics.first_seen_at
    from metrics
    left join latency as newer
        on
            metrics.api_name = newer.api_name
            and metrics.api_version = newer.api_version
    left join latency as older
        on
            metrics.api_name = older.api_name
            and metrics.previous_version = older.api_version
    left join apis
        on metrics.api_name = apis.api_name
)

select * from final
