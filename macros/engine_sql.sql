{#
    Engine-specific SQL lives only here, behind adapter.dispatch, so the same
    models can run on Spark later: add a `spark__` twin of each macro.
#}

{# Cast that yields null instead of failing on a bad value (dbt.safe_cast is a plain cast on DuckDB). #}
{% macro safe_cast(expr, data_type) -%}
    {{ return(adapter.dispatch('safe_cast', 'api_trust')(expr, data_type)) }}
{%- endmacro %}

{#- dbt's unit tests cast each fixture value with this macro too, to its column's type in the
    warehouse. An ENUM there is a text column of the root-cause cube (macro rca_value_types),
    whose values are that warehouse's, not the fixture's: the value stays text. -#}
{% macro default__safe_cast(expr, data_type) -%}
    try_cast({{ expr }} as {{ 'varchar' if (data_type | string | upper | trim).startswith('ENUM') else data_type }})
{%- endmacro %}

{# Lower-case, keep only letters and digits: ' TIER-2' and 'tier 2' become the key 'tier2'. #}
{% macro normalise_key(expr) -%}
    {{ return(adapter.dispatch('normalise_key', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__normalise_key(expr) -%}
    nullif(regexp_replace(lower({{ expr }}), '[^a-z0-9]', '', 'g'), '')
{%- endmacro %}

{% macro spark__normalise_key(expr) -%}
    nullif(regexp_replace(lower({{ expr }}), '[^a-z0-9]', ''), '')
{%- endmacro %}

{# True when the text holds a letter or a digit of any script (`Москва` does; `-` and `?` do
   not): a value, not a placeholder. #}
{% macro has_letter_or_digit(expr) -%}
    {{ return(adapter.dispatch('has_letter_or_digit', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__has_letter_or_digit(expr) -%}
    regexp_matches({{ expr }}, '[\pL\pN]')
{%- endmacro %}

{% macro spark__has_letter_or_digit(expr) -%}
    {{ expr }} rlike '[\\p{L}\\p{N}]'
{%- endmacro %}

{# Service names: upper case, runs of separators (spaces, `-`, `.`, `/`, `:`) as one underscore,
   none at the start: `kyc.pan-verify` and `/kyc.PanService/Verify` (a gRPC method) are
   KYC_PAN_VERIFY and KYC_PANSERVICE_VERIFY. #}
{% macro normalise_api_name(expr) -%}
    {{ return(adapter.dispatch('normalise_api_name', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__normalise_api_name(expr) -%}
    nullif(regexp_replace(regexp_replace(upper(trim({{ expr }})), '^[\s\-./:]+', ''), '[\s\-./:]+', '_', 'g'), '')
{%- endmacro %}

{% macro spark__normalise_api_name(expr) -%}
    nullif(regexp_replace(regexp_replace(upper(trim({{ expr }})), '^[\\s\\-./:]+', ''), '[\\s\\-./:]+', '_'), '')
{%- endmacro %}

{# True when the whole text matches the pattern. #}
{% macro full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('full_match', 'api_trust')(expr, pattern)) }}
{%- endmacro %}

{% macro default__full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#- A backslash is an escape in a Spark string literal: doubled, as spark_literal_body does. A
    quote is not escaped: int_api_routes_mapped splices a column into the pattern with one. -#}
{% macro spark__full_match(expr, pattern) -%}
    ({{ expr }} rlike '^(?:{{ pattern | replace('\\', '\\\\') }})$')
{%- endmacro %}

{# The largest of some expressions, nulls skipped; one expression is itself (Spark's greatest
   wants two or more). #}
{% macro greatest_of(exprs) -%}
    {{- exprs[0] if exprs | length == 1 else 'greatest(' ~ exprs | join(', ') ~ ')' -}}
{%- endmacro %}

{# True when the pattern matches somewhere in the text. #}
{% macro matches(expr, pattern) -%}
    {{ return(adapter.dispatch('matches', 'api_trust')(expr, pattern)) }}
{%- endmacro %}

{% macro default__matches(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__matches(expr, pattern) -%}
    ({{ expr }} rlike '{{ api_trust.spark_literal_body(pattern) }}')
{%- endmacro %}

{# Start of the hour / day of a timestamp. #}
{% macro truncate_to(part, expr) -%}
    {{ return(adapter.dispatch('truncate_to', 'api_trust')(part, expr)) }}
{%- endmacro %}

{% macro default__truncate_to(part, expr) -%}
    date_trunc('{{ part }}', {{ expr }})
{%- endmacro %}

{# A timestamp plus a whole number of hours. #}
{% macro add_hours(expr, hours) -%}
    {{ return(adapter.dispatch('add_hours', 'api_trust')(expr, hours)) }}
{%- endmacro %}

{% macro default__add_hours(expr, hours) -%}
    ({{ expr }} + to_hours(cast({{ hours }} as bigint)))
{%- endmacro %}

{% macro spark__add_hours(expr, hours) -%}
    ({{ expr }} + make_interval(0, 0, 0, 0, {{ hours }}))
{%- endmacro %}

{# Whole seconds between two timestamps. #}
{% macro seconds_between(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('seconds_between', 'api_trust')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__seconds_between(start_expr, end_expr) -%}
    {{ api_trust.milliseconds_between(start_expr, end_expr) }} / 1000.0
{%- endmacro %}

{#- a double, as on DuckDB: over the decimal 1000.0 Spark keeps a decimal, and a later
    division of it rounds to six places (a projection of 0.492669 where DuckDB had 0.4926685...) -#}
{% macro spark__seconds_between(start_expr, end_expr) -%}
    {{ api_trust.milliseconds_between(start_expr, end_expr) }} / cast(1000 as double)
{%- endmacro %}

{# Whole milliseconds between two timestamps, as an integer (exact at any distance). #}
{% macro milliseconds_between(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('milliseconds_between', 'api_trust')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__milliseconds_between(start_expr, end_expr) -%}
    date_diff('millisecond', {{ start_expr }}, {{ end_expr }})
{%- endmacro %}

{% macro spark__milliseconds_between(start_expr, end_expr) -%}
    (unix_millis({{ end_expr }}) - unix_millis({{ start_expr }}))
{%- endmacro %}

{#
    One number that orders a verification's calls: by time (microseconds), then attempt
    number, then a 32-bit digest of the request id (which breaks a tie of time and attempt,
    deterministically). A fixed-size value, so its min() is a numeric aggregate that spills,
    and the call holding the min is found by an equi-join instead of a window's sort.
    Attempt numbers are at least 1 (validation) and below 2^31 (integer).
#}
{% macro call_order_key(called_at_expr, attempt_no_expr, request_id_expr) -%}
    {{ return(adapter.dispatch('call_order_key', 'api_trust')(called_at_expr, attempt_no_expr, request_id_expr)) }}
{%- endmacro %}

{% macro default__call_order_key(called_at_expr, attempt_no_expr, request_id_expr) -%}
    (
        cast(epoch_us({{ called_at_expr }}) as hugeint) * 18446744073709551616
        + cast({{ attempt_no_expr }} as hugeint) * 4294967296
        + (hash({{ request_id_expr }}) >> 32)
    )
{%- endmacro %}

{% macro spark__call_order_key(called_at_expr, attempt_no_expr, request_id_expr) -%}
    (
        cast(unix_micros({{ called_at_expr }}) as decimal(38, 0)) * 100000000000000000000
        + cast({{ attempt_no_expr }} as decimal(38, 0)) * 10000000000
        + pmod(xxhash64({{ request_id_expr }}), 4294967296)
    )
{%- endmacro %}

{# First code of a ';'-separated reason list. #}
{% macro first_reason(expr) -%}
    {{ return(adapter.dispatch('first_reason', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__first_reason(expr) -%}
    split_part({{ expr }}, ';', 1)
{%- endmacro %}

{% macro spark__first_reason(expr) -%}
    split({{ expr }}, ';')[0]
{%- endmacro %}

{#
    Placed after `name as` of a CTE that is referenced more than once but is cheaper to
    recompute (pruned to the columns each reference reads) than to store: DuckDB stores
    such a CTE whole by default. Engines without the hint inline CTEs anyway.
#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'api_trust')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}
    not materialized
{%- endmacro %}

{% macro spark__inline_cte() -%}
{%- endmacro %}

