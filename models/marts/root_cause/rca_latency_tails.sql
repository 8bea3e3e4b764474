{#
    APIs whose latency tail is heavier than their peers': p95 / p50 of
    successful calls against the median ratio of the other APIs of the same
    family (doc rca_latency_tails). A slow API with a normal shape is a
    capacity question; a heavy tail is a few very slow calls worth chasing.
#}
{%- set min_calls = var('rca_tail_min_calls', 300) -%}
{%- set min_ratio = var('rca_tail_min_ratio', 1.3) -%}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
        -- calls whose log has no latency (plain access logs) say nothing about it
        and latency_ms is not null
),

apis as (
    select * from {{ ref('dim_apis') }}
),

shapes as (
    select
        calls.api_name,
        apis.api_family,
        apis.owner_team,
        apis.latency_slo_ms,
        count(*) as successful_calls,
        sum(case when calls.latency_ms > apis.latency_slo_ms then 1 else 0 end) as over_slo_calls,
        {{ api_trust.percentile_list('calls.latency_ms', [0.5, 0.95, 0.99]) }} as latency_pcts
    from calls
    inner join apis
        on calls.api_name = apis.api_name
    where calls.is_success and apis.is_known_api
    group by calls.api_name, apis.api_family, apis.owner_team, apis.latency_slo_ms
    having count(*) >= {{ min_calls }}
),

ratios as (
    select
        *,
        {{ api_trust.percentile_at('latency_pcts', 1) }} as p50_latency_ms,
        {{ api_trust.percentile_at('latency_pcts', 2) }} as p95_latency_ms,
        {{ api_trust.percentile_at('latency_pcts', 3) }} as p99_latency_ms,
        {{ api_trust.percentile_at('latency_pcts', 2) }} / {{ api_trust.percentile_at('latency_pcts', 1) }}
            as tail_ratio
    from shapes
),

peers as (
    -- the typical shape of the other APIs: same family when it has two others, else the platform
    select
        ratios.api_name,
        {{ api_trust.median_of('case when peer.api_family = ratios.api_family then peer.tail_ratio end') }}
            as family_ratio,
        count(case when peer.api_family = ratios.api_family then 1 end) as family_peers,
        {{ api_trust.median_of('peer.tail_ratio') }} as platform_ratio
    from ratios
    inner join ratios as peer
        on ratios.api_name <> peer.api_name
    group by ratios.api_name
),

thresholds as (
    select
        ratios.*,
        case when peers.family_peers >= 2 then peers.family_ratio else peers.platform_ratio end as peer_tail_ratio,
        ratios.p50_latency_ms
        * case when peers.family_peers >= 2 then peers.family_ratio else peers.platform_ratio end
            as tail_threshold_ms
    from ratios
    inner join peers
        on ratios.api_name = peers.api_name
),

slow_counts as (
    select
        thresholds.api_name,
        sum(case when calls.latency_ms > thresholds.tail_threshold_ms then 1 else 0 end) as slow_calls
    from thresholds
    inner join calls
        on thresholds.api_name = calls.api_name
    where calls.is_success
    group by thresholds.api_name
),

tested as (
    select
        thresholds.*,
        slow_counts.slow_calls,
        {{ api_trust.proportion_z('slow_counts.slow_calls', 'thresholds.successful_calls', '0.05') }} as z_score
    from thresholds
    inner join slow_counts
        on thresholds.api_name = slow_counts.api_name
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
        -- strings
        api_name,
        api_family,
        owner_team,

        -- numbers
        cast(successful_calls as bigint) as successful_calls,
        p50_latency_ms,
        p95_latency_ms,
        p99_latency_ms,
        latency_slo_ms,
        {{ api_trust.safe_rate('over_slo_calls', 'successful_calls') }} as over_slo_share,
        tail_ratio,
        peer_tail_ratio,
        tail_threshold_ms,
        cast(slow_calls as bigint) as slow_calls,
        {{ api_trust.safe_rate('slow_calls', 'successful_calls') }} as slow_share,
        cast(slow_calls - 0.05 * successful_calls as double) as excess_slow_calls,
        z_score,
        p_value,
        q_value,

        -- booleans
        coalesce(q_value <= {{ var('rca_fdr_q') }} and tail_ratio >= {{ min_ratio }} * peer_tail_ratio, false)
            as is_heavy_tail,
        p95_latency_ms > latency_slo_ms as is_p95_over_slo
    from adjusted
)

select * from final
