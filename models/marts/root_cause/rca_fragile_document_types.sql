{#
    Which document types fail most on each API, ranked by the Wilson lower
    bound of their failure rate, not the raw rate: a document type seen 3 times
    with 2 failures is not "the most fragile". Significance comes from the API x
    document type pair of rca_failure_lift.
#}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

lift as (
    select * from {{ ref('rca_failure_lift') }}
),

apis as (
    select * from {{ ref('dim_apis') }}
),

cells as (
    select
        api_name,
        document_type,
        count(*) as calls,
        sum(case when is_success then 0 else 1 end) as failures
    from calls
    where document_type != 'unknown'
    group by api_name, document_type
),

with_rest as (
    select
        *,
        sum(calls) over (partition by api_name) - calls as other_calls,
        sum(failures) over (partition by api_name) - failures as other_failures
    from cells
),

reasons as (
    select
        api_name,
        document_type,
        error_reason,
        row_number() over (
            partition by api_name, document_type order by count(*) desc, error_reason
        ) as reason_rank
    from calls
    where not is_success
    group by api_name, document_type, error_reason
),

final as (
    select
        -- strings
        with_rest.api_name,
        with_rest.document_type,
        apis.owner_team,
        reasons.error_reason as dominant_error_reason,

        -- numbers
        cast(with_rest.calls as bigint) as calls,
        cast(with_rest.failures as bigint) as failures,
        {{ api_trust.safe_rate('with_rest.failures', 'with_rest.calls') }} as failure_rate,
        {{ api_trust.wilson_lower('with_rest.failures', 'with_rest.calls') }} as failure_rate_ci_lower,
        {{ api_trust.wilson_upper('with_rest.failures', 'with_rest.calls') }} as failure_rate_ci_upper,
        {{ api_trust.safe_rate('with_rest.other_failures', 'with_rest.other_calls') }} as other_documents_failure_rate,
        lift.lift,
        lift.excess_failures,
        lift.q_value,
        cast(row_number() over (
            partition by with_rest.api_name
            order by {{ api_trust.wilson_lower('with_rest.failures', 'with_rest.calls') }} desc, with_rest.document_type
        ) as integer) as fragility_rank,

        -- booleans
        coalesce(lift.is_significant, false) as is_significant
    from with_rest
    left join reasons
        on
            with_rest.api_name = reasons.api_name
            and with_rest.document_type = reasons.document_type
            and reasons.reason_rank = 1
    left join lift
        on
            lift.segment_level = 'pair'
            and lift.dimension_2 = 'document_type'
            and with_rest.api_name = lift.api_name
            and with_rest.document_type = lift.document_type
    left join apis
        on with_rest.api_name = apis.api_name
)

select * from final
