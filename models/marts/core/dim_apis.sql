with

api_catalogue as (
    select * from {{ ref('api_catalogue') }}
),

validated_calls as (
    select * from {{ ref('int_api_calls_validated') }}
),

slos as (
    -- the owner and targets of every API, a team's own catalogue winning over ours
    select * from {{ ref('int_api_slos_resolved') }}
),

catalogued as (
    select
        api_name,
        api_family,
        live_versions,
        latest_version,
        true as is_known_api
    from api_catalogue
),

seen_but_unknown as (
    -- well-formed names not in the catalogue: new services appear all the time
    select distinct
        api_name,
        'UNKNOWN' as api_family,
        cast(null as string) as live_versions,
        cast(null as string) as latest_version,
        false as is_known_api
    from validated_calls
    where route = 'fact' and not is_known_api
),

listed as (
    select * from catalogued
    union all
    select * from seen_but_unknown
),

final as (
    select
        listed.api_name,
        listed.api_family,
        -- every listed API is one of slos' (its names are the catalogue's and the facts')
        slos.owner_team,
        listed.live_versions,
        listed.latest_version,
        -- the target the SLO marts measure an API against when a catalogue (the team's or
        -- ours) lists it; null for an API in neither (the SLO marts use the vars' default)
        case when slos.slo_source <> 'default' then slos.availability_target end as availability_target,
        case when slos.slo_source <> 'default' then slos.latency_slo_ms end as latency_slo_ms,
        listed.is_known_api
    from listed
    left join slos
        on listed.api_name = slos.api_name
)

select * from final
