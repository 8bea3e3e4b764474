{#
    Routes of gateway, access-log and trace shapes. A route names an API when
    seed route_patterns says so; otherwise its template (ids collapsed) is the
    API name, flagged unknown.
#}

{#
    The path of a route: without a leading method (`POST /v1/x`), the scheme and host of an
    absolute URL (`https://kyc.example.com:443/v1/x`, as load balancers, Cloud Logging's
    requestUrl and API Management write it), query string or fragment.
#}
{% macro route_path(expr) -%}
    {{ return(adapter.dispatch('route_path', 'api_trust')(expr)) }}
{%- endmacro %}

{#
    What route_path replaces, in order, as (pattern, replacement): a leading method; an
    absolute URL's scheme and host, with the slash after them, by one slash (a bare
    `https://host` is the path `/`); a query string or fragment.
#}
{% macro route_path_patterns() -%}
    {{ return([
        ['^[A-Za-z]+\\s+', ''],
        ['^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*/?', '/'],
        ['[?#].*$', ''],
    ]) }}
{%- endmacro %}

{% macro default__route_path(expr) -%}
    {%- set ns = namespace(sql='trim(' ~ expr ~ ')') -%}
    {%- for pattern, replacement in api_trust.route_path_patterns() -%}
        {%- set ns.sql = "regexp_replace(" ~ ns.sql ~ ", '" ~ pattern ~ "', '" ~ replacement ~ "')" -%}
    {%- endfor -%}
    nullif({{ ns.sql }}, '')
{%- endmacro %}

{% macro spark__route_path(expr) -%}
    {%- set ns = namespace(sql='trim(' ~ expr ~ ')') -%}
    {%- for pattern, replacement in api_trust.route_path_patterns() -%}
        {%- set ns.sql = "regexp_replace(" ~ ns.sql ~ ", '" ~ api_trust.spark_literal_body(pattern) ~ "', '" ~ replacement ~ "')" -%}
    {%- endfor -%}
    nullif({{ ns.sql }}, '')
{%- endmacro %}

{#
    A path with every id-like segment as `{id}`: numbers, UUIDs, long hex
    (hashes, object ids), masked personal data ([PAN], [EMAIL], ...) and
    hashed ids, and any segment of six or more characters that holds a digit
    (HDFC0001234, order-8812x); `v2` and words stay.
#}
{% macro template_route(expr) -%}
    {{ return(adapter.dispatch('template_route', 'api_trust')(expr)) }}
{%- endmacro %}

{# A segment that is an id whatever its length, and one that is an id from six characters. #}
{% macro route_id_patterns() -%}
    {{ return([
        '(?i)[0-9]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{12,}|\\[[A-Z]+\\].*|.*\\[[A-Z]+\\]|pii_[a-p]{32}|ip_[a-p]{32}',
        '(?i)[a-z_.-]*[0-9][a-z0-9_.-]*',
    ]) }}
{%- endmacro %}

{% macro default__template_route(expr) -%}
    {%- set p = api_trust.route_id_patterns() -%}
    array_to_string(list_transform(string_split({{ expr }}, '/'), lambda segment: case
        when regexp_full_match(segment, '{{ p[0] }}')
            then '{id}'
        when length(segment) >= 6 and regexp_full_match(segment, '{{ p[1] }}')
            then '{id}'
        else segment
    end), '/')
{%- endmacro %}

{% macro spark__template_route(expr) -%}
    {%- set p = api_trust.route_id_patterns() -%}
    array_join(transform(split({{ expr }}, '/'), segment -> case
        when segment rlike '^(?:{{ api_trust.spark_literal_body(p[0]) }})$'
            then '{id}'
        when length(segment) >= 6 and segment rlike '^(?:{{ api_trust.spark_literal_body(p[1]) }})$'
            then '{id}'
        else segment
    end), '/')
{%- endmacro %}

{# The version a path names (`/v2/...` -> v2), null when none. #}
{% macro version_from_path(expr) -%}
    {{ return(adapter.dispatch('version_from_path', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__version_from_path(expr) -%}
    nullif('v' || regexp_extract({{ expr }}, '/v([0-9]+)(/|$)', 1), 'v')
{%- endmacro %}

{# The text value of a key of a JSON object held as text (raw.api_calls.extra_fields). #}
{% macro json_field(expr, key) -%}
    {{ return(adapter.dispatch('json_field', 'api_trust')(expr, key)) }}
{%- endmacro %}

{% macro default__json_field(expr, key) -%}
    json_extract_string({{ expr }}, '$."{{ key }}"')
{%- endmacro %}

{# An extra dimension's value on a call: the delivered field (its own name, or the one
   vars.analysis_dimensions.fields gives it), trimmed, empty as null. The one definition, read
   by fct_call_dimensions (long form) and the root-cause leaves (inline). #}
{% macro extra_dimension_value(fields_expr, dimension) -%}
    nullif(trim({{ api_trust.json_field(fields_expr, api_trust.extra_dimension_field(dimension)) }}), '')
{%- endmacro %}

{#- the key as a bracketed member ($['tenant.id']): a dot in a field's name is part of the name -#}
{% macro spark__json_field(expr, key) -%}
    get_json_object({{ expr }}, '$[\'{{ key }}\']')
{%- endmacro %}
