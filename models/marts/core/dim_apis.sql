{#
    Every API: the catalogue plus the names the facts carry, each with its
    owner and targets (int_api_slos_resolved, a team's own catalogue winning
    over ours) and where its name comes from (name_source): a catalogue, a
    route no pattern maps, or the logs alone, where a name close to a far
    busier catalogued API is a likely misspelling of it (vars
    api_typo_max_edits, api_typo_min_call_ratio; doc api_name_sources).
#}

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

seen as (
    -- every name the facts carry: its calls, and whether every one was templated from a route
    select
        api_name,
        count(*) as records,
        bool_and(coalesce(is_api_from_route, false)) as is_from_routes,
        bool_or(is_known_api) as is_known_api
    from validated_calls
    where route = 'fact'
    group by api_name
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
    select
        api_name,
        'UNKNOWN' as api_family,
        cast(null as string) as live_versions,
        cast(null as string) as latest_version,
        false as is_known_api
    from seen
    where not is_known_api
),

listed as (
    select * from catalogued
    union all
    select * from seen_but_unknown
),

named as (
    -- every name the facts carry, and whether a catalogue (ours or the team's) lists it
    select
        seen.api_name,
        seen.records,
        seen.is_from_routes,
        slos.slo_source <> 'default' as is_catalogued
    from seen
    inner join slos
        on seen.api_name = slos.api_name
),

near_busier as (
    -- each name the logs alone carry (in no catalogue, not templated from a route): the
    -- catalogued names with calls it can be a misspelling of, far busier, busiest first
    select
        uncatalogued.api_name,
        spelt_right.api_name as typo_of,
        row_number() over (
            partition by uncatalogued.api_name
            order by spelt_right.records desc, spelt_right.api_name asc
        ) as busiest_first
    from named as uncatalogued
    inner join named as spelt_right
        on
            abs(length(uncatalogued.api_name) - length(spelt_right.api_name)) <= {{ var('api_typo_max_edits') }}
            and spelt_right.records >= {{ var('api_typo_min_call_ratio') }} * uncatalogued.records
    where
        not uncatalogued.is_catalogued
        and not uncatalogued.is_from_routes
        and spelt_right.is_catalogued
        and levenshtein(uncatalogued.api_name, spelt_right.api_name) <= {{ var('api_typo_max_edits') }}
        and 3 * levenshtein(uncatalogued.api_name, spelt_right.api_name) <= length(uncatalogued.api_name)
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
        listed.is_known_api,
        case
            when listed.is_known_api then 'catalogue'
            when slos.slo_source = 'team' then 'team_catalogue'
            when seen.is_from_routes then 'route'
            when near_busier.typo_of is not null then 'likely_typo'
            else 'logs'
        end as name_source,
        near_busier.typo_of as likely_typo_of
    from listed
    left join slos
        on listed.api_name = slos.api_name
    left join seen
        on listed.api_name = seen.api_name
    left join near_busier
        on
            listed.api_name = near_busier.api_name
            and near_busier.busiest_first = 1
)

select * from final
