{#
    Every distinct route a gateway, access log or trace delivered, mapped to
    the API it serves: seed route_patterns first (method and path pattern,
    first match in seed order), else the templated route itself. A service
    with more than vars.max_routes_per_service templates keeps its busiest
    ones; the rest fold into `<first segment>/{other}`, so a website does not
    become a thousand APIs. Which ones it keeps depends on every batch's calls:
    int_api_calls_validated's key holds the routes kept where a service folds,
    so a batch that changes them has every batch validated again.
#}

with

calls as (
    select * from {{ ref('stg_logs__api_calls') }}
),

route_patterns as (
    select * from {{ ref('route_patterns') }}
),

numbered_patterns as (
    select
        *,
        row_number() over (order by api_name, route_pattern) as pattern_no
    from route_patterns
),

routes as (
    select
        service_name,
        coalesce(http_method, 'ANY') as http_method,
        route_template,
        count(*) as calls
    from calls
    where route_template is not null
    group by service_name, coalesce(http_method, 'ANY'), route_template
),

pattern_matches as (
    select
        routes.service_name,
        routes.http_method,
        routes.route_template,
        route_patterns.api_name,
        row_number() over (
            partition by routes.service_name, routes.http_method, routes.route_template
            order by route_patterns.pattern_no
        ) as match_no
    from routes
    inner join numbered_patterns as route_patterns
        on
            upper(route_patterns.http_method) in (routes.http_method, 'ANY')
            and {{ api_trust.full_match('routes.route_template', "' || route_patterns.route_pattern || '") }}
),

ranked as (
    select
        routes.*,
        pattern_matches.api_name as mapped_api_name,
        row_number() over (
            partition by routes.service_name
            order by routes.calls desc, routes.http_method asc, routes.route_template asc
        ) as route_rank,
        count(*) over (partition by routes.service_name) as service_routes
    from routes
    left join pattern_matches
        on
            routes.service_name = pattern_matches.service_name
            and routes.http_method = pattern_matches.http_method
            and routes.route_template = pattern_matches.route_template
            and pattern_matches.match_no = 1
),

final as (
    select
        -- ids
        service_name,
        http_method,
        route_template,

        -- strings
        coalesce(
            mapped_api_name,
            case
                when route_rank <= {{ var('max_routes_per_service') }}
                    then http_method || ' ' || route_template
                else http_method || ' /' || coalesce(nullif(split_part(route_template, '/', 2), ''), '')
                    || '/{other}'
            end
        ) as api_name,
        {{ api_trust.version_from_path('route_template') }} as path_version,

        -- numbers
        calls,
        route_rank,

        -- booleans
        mapped_api_name is not null as is_mapped_route,
        route_rank > {{ var('max_routes_per_service') }} and mapped_api_name is null as is_folded_route,
        service_routes > {{ var('max_routes_per_service') }} as is_service_folding
    from ranked
)

select * from final
