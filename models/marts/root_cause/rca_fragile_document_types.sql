{#
    Which document types fail most on each API? Every API x document type
    segment of the leaf cube (int_rca_cells_counted), ranked by the Wilson
    lower bound of its failure rate, not the raw rate (a document type seen 3
    times with 2 failures is not "the most fragile"), against the API's other
    documents; significance and the reason carrying the excess from the
    findings (one false-discovery budget).
#}

{#- the API x document type segments this mart ranks -#}
{%- set kept = 'depth = 2 and api_name is not null and document_type is not null and not is_redundant' %}

with

cells as (
    -- none for logs without document types (macro rca_rows_of_dimension)
    {{ api_trust.rca_rows_of_dimension(ref('int_rca_cells_counted'), 'document_type', kept) }}
),

tested as (
    select * from {{ ref('int_rca_candidates_tested') }}
    where finding_type = 'failure_segment'
),

findings as (
    select * from {{ ref('rca_findings') }}
    where finding_type = 'failure_segment'
),

apis as (
    select * from {{ ref('dim_apis') }}
),

api_totals as (
    select
        api_name,
        calls,
        failures
    from {{ ref('int_rca_cells_counted') }}
    where depth = 1 and api_name is not null
),

final as (
    select
        -- strings (text again: the cube's are ENUMs on DuckDB, macro rca_value_types)
        cast(cells.api_name as string) as api_name,
        cast(cells.document_type as string) as document_type,
        apis.owner_team,
        findings.dominant_error_reason,

        -- numbers
        cast(round(cells.calls) as bigint) as calls,
        cast(round(cells.failures) as bigint) as failures,
        {{ api_trust.safe_rate('cells.failures', 'cells.calls') }} as failure_rate,
        {{ api_trust.wilson_lower('cells.failures', 'cells.calls') }} as failure_rate_ci_lower,
        {{ api_trust.wilson_upper('cells.failures', 'cells.calls') }} as failure_rate_ci_upper,
        {{ api_trust.safe_rate('api_totals.failures - cells.failures', 'api_totals.calls - cells.calls') }}
            as other_documents_failure_rate,
        tested.lift,
        tested.excess_failures,
        tested.q_value,
        cast(row_number() over (
            partition by cells.api_name
            order by {{ api_trust.wilson_lower('cells.failures', 'cells.calls') }} desc, cells.document_type
        ) as integer) as fragility_rank,

        -- booleans
        coalesce(tested.is_significant, false) as is_significant
    from cells
    inner join api_totals
        on cells.api_name = api_totals.api_name
    left join tested
        on cells.segment = tested.segment
    left join findings
        on cells.segment = findings.segment
    left join apis
        on cells.api_name = apis.api_name
)

select * from final
