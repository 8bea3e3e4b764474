{#
    The owner and SLO of every API seen or catalogued: a team's own catalogue
    (vars.slo_catalogue_file) wins value by value over ours (seed api_catalogue),
    and an API in neither gets the defaults in vars (doc slo_sources). A value
    that is not a usable target, threshold or period is ignored, not fatal.
    dim_apis (and so the facts and every mart that names an owner) takes its
    owner and targets from here.
#}

with

seen as (
    -- the API names of the facts (dim_apis lists the same, and reads this model)
    select distinct api_name
    from {{ ref('int_api_calls_validated') }}
    where route = 'fact'
),

catalogue as (
    select * from {{ ref('api_catalogue') }}
),

team_delivered as (
    {{ api_trust.team_slo_catalogue(var('slo_catalogue_file', '')) }}
),

team as (
    select
        {{ api_trust.normalise_api_name('api_name') }} as api_name,
        max(nullif(trim(owner_team), '')) as owner_team,
        max(case
            when {{ api_trust.safe_cast('availability_target', 'double') }} > 0
                and {{ api_trust.safe_cast('availability_target', 'double') }} < 1
                then {{ api_trust.safe_cast('availability_target', 'double') }}
        end) as availability_target,
        max(case
            when {{ api_trust.safe_cast('latency_slo_ms', 'double') }} > 0
                then {{ api_trust.safe_cast('latency_slo_ms', 'double') }}
        end) as latency_slo_ms,
        max(case
            when {{ api_trust.safe_cast('slo_period_days', 'double') }} >= 1
                then {{ api_trust.safe_cast('slo_period_days', 'double') }}
        end) as slo_period_days
    from team_delivered
    where {{ api_trust.normalise_api_name('api_name') }} is not null
    group by {{ api_trust.normalise_api_name('api_name') }}
),

-- every API with calls or in a catalogue
api_names as (
    select api_name from seen
    union
    select api_name from catalogue
    union
    select api_name from team
),

resolved as (
    select
        api_names.api_name,
        coalesce(team.owner_team, catalogue.owner_team, '{{ var("default_owner_team") }}') as owner_team,
        case
            when team.api_name is not null then 'team'
            when catalogue.api_name is not null then 'catalogue'
            else 'default'
        end as slo_source,
        coalesce(
            team.availability_target,
            cast(catalogue.availability_target as double),
            {{ var('slo_default_availability_target') }}
        ) as availability_target,
        coalesce(
            team.latency_slo_ms,
            cast(catalogue.latency_slo_ms as double),
            {{ var('slo_default_latency_slo_ms') }}
        ) as latency_slo_ms,
        coalesce(
            team.slo_period_days,
            cast(catalogue.slo_period_days as double),
            {{ var('slo_default_period_days') }}
        ) as slo_period_days
    from api_names
    left join catalogue
        on api_names.api_name = catalogue.api_name
    left join team
        on api_names.api_name = team.api_name
),

final as (
    select
        -- strings
        api_name,
        owner_team,
        slo_source,

        -- numbers
        cast(availability_target as double) as availability_target,
        cast(latency_slo_ms as double) as latency_slo_ms,
        cast(slo_period_days as double) as slo_period_days
    from resolved
)

select * from final
