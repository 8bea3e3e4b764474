{#
    Which candidate findings a more specific one already explains (doc
    rca_findings, "one problem, one finding"): a single-value segment whose
    significant pairs (or clients) carry at least half its excess; a client
    segment that is an auth problem; a heavy tail or a version pair that a
    version regression of the same API explains. All candidates stay here with
    the reason; rca_finding_scope keeps the unexplained ones.
#}
{%- set wide = ['api_name', 'api_version', 'region', 'document_type', 'client_type', 'client_id'] -%}

with

candidates as (
    select * from {{ ref('rca_finding_candidates') }}
),

strata as (
    select * from {{ ref('rca_failure_strata') }}
),

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

client_types as (
    select
        client_id,
        min(client_type) as client_type
    from calls
    group by client_id
),

child_excess as (
    -- excess of the significant, more specific segments inside a single-value segment
    select
        parent.segment,
        sum(
            strata.failures
            - strata.calls
            * {{ api_trust.safe_rate('strata.api_failures - strata.failures', 'strata.api_calls - strata.calls') }}
        ) as excess_failures
    from candidates as parent
    inner join candidates as child
        on
            child.finding_type = 'failure_segment'
            and parent.dimension_1 = child.dimension_2
            and child.api_name is not null
    inner join strata
        on
            child.dimension_2 = strata.dimension
            and child.api_name = strata.api_name
            and case child.dimension_2
                {%- for dim in wide[1:] %}
                    when '{{ dim }}' then child.{{ dim }}
                {%- endfor %}
            end = strata.dimension_value
    where
        parent.finding_type = 'failure_segment'
        and parent.dimension_2 is null
        and case parent.dimension_1
            {%- for dim in wide[1:] %}
                when '{{ dim }}' then parent.{{ dim }} = child.{{ dim }}
            {%- endfor %}
        end
    group by parent.segment
    union all
    -- a client type is explained by the clients inside it
    select
        parent.segment,
        sum(child.excess_failures) as excess_failures
    from candidates as parent
    inner join candidates as child
        on
            child.finding_type in ('failure_segment', 'client_auth')
            and child.dimension_1 = 'client_id'
            and child.dimension_2 is null
    inner join client_types
        on child.client_id = client_types.client_id
    where
        parent.finding_type = 'failure_segment'
        and parent.dimension_1 = 'client_type'
        and parent.dimension_2 is null
        and parent.client_type = client_types.client_type
    group by parent.segment
),

child_totals as (
    select
        segment,
        sum(excess_failures) as excess_failures
    from child_excess
    group by segment
),

auth_clients as (
    select
        client_id,
        sum(excess_failures) as excess_failures
    from candidates
    where finding_type = 'client_auth'
    group by client_id
),

released as (
    select distinct
        api_name,
        api_version,
        metric
    from candidates
    where finding_type = 'version_regression'
),

explained as (
    select
        candidates.*,
        candidates.finding_type = 'failure_segment'
        and coalesce(child_totals.excess_failures, 0) >= 0.5 * candidates.excess_failures
            as is_explained_by_children,
        candidates.finding_type = 'failure_segment'
        and candidates.dimension_1 = 'client_id'
        and coalesce(auth_clients.excess_failures, 0) >= 0.5 * candidates.excess_failures
            as is_explained_by_auth,
        (
            candidates.finding_type = 'latency_tail' and exists (
                select released.api_name from released
                where released.api_name = candidates.api_name and released.metric = 'p95_latency_ms'
            )
        ) or (
            candidates.finding_type = 'failure_segment' and exists (
                select released.api_name from released
                where
                    released.api_name = candidates.api_name
                    and released.api_version = candidates.api_version
                    and released.metric = 'failure_rate'
            )
        ) as is_explained_by_release
    from candidates
    left join child_totals
        on candidates.segment = child_totals.segment
    left join auth_clients
        on candidates.client_id = auth_clients.client_id
),

final as (
    select
        *,
        is_explained_by_children or is_explained_by_auth or is_explained_by_release as is_explained
    from explained
)

select * from final
