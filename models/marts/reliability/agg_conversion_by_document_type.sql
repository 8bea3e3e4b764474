{#
    Verification conversion by document type: how many end users get through on the
    first attempt and eventually, with Wilson bounds (see doc conversion_rates).
#}

with

verifications as (
    select * from {{ ref('fct_verifications') }}
),

final as (
    {{ api_trust.conversion_rollup('verifications', 'document_type') }}
)

select * from final
