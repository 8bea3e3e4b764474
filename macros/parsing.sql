{#
    Parsing delivered text, row by row. Engine-specific, so dispatched (the
    `spark__` twins are written, not run yet).

    Timestamps are never cast with their zone in one go: DuckDB's
    `try_cast(... as timestamptz)` keeps the zone it last saw for the rest of
    its 2,048-row vector, which shifted later rows silently. Instead the text
    is split by a regular expression into a naive wall-clock time and a zone
    (`Z`, an offset or an IANA name), and each row's zone is applied on its
    own. Zone names go through ICU only for rows whose wall-clock time lies in
    the accepted window (see stg_logs__api_calls), so no value can overflow it.
#}

{#- ISO date and time with an optional fraction: the wall clock, without a zone. -#}
{% macro iso_wall_clock_pattern() -%}
    [0-9]{4,6}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.][0-9]{1,9})?)?)?
{%- endmacro %}

{#- Epoch numbers the timestamp parsers take (UTC): milliseconds, and seconds with an optional
    fraction (`1790000000.123456`, as Python's time.time() writes it). -#}
{% macro epoch_ms_pattern() -%}
    [0-9]{13}
{%- endmacro %}

{% macro epoch_s_pattern() -%}
    [0-9]{10}(?:[.][0-9]{1,9})?
{%- endmacro %}

{#- ISO date and time, optional fraction, optional zone: group 1 = wall clock, group 2 = zone. -#}
{% macro iso_timestamp_pattern() -%}
    ^({{ api_trust.iso_wall_clock_pattern() }}) ?(Z|[+-][0-9]{2}(?::?[0-9]{2})?|[A-Za-z][A-Za-z0-9_+/-]*)?$
{%- endmacro %}

{# Naive wall-clock time as written (zone not applied); epoch ms/s are UTC; null when not a timestamp. #}
{% macro timestamp_wall_clock(expr) -%}
    {{ return(adapter.dispatch('timestamp_wall_clock', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__timestamp_wall_clock(expr) -%}
    case
        when regexp_full_match({{ expr }}, '{{ api_trust.epoch_ms_pattern() }}')
            then make_timestamp(cast({{ expr }} as bigint) * 1000)
        -- a fraction truncated to microseconds, as an ISO time's is: the digits as written,
        -- not a cast to DECIMAL (about 8 microseconds a value in DuckDB 1.5, 100 times this)
        when regexp_full_match({{ expr }}, '{{ api_trust.epoch_s_pattern() }}')
            then make_timestamp(
                cast(split_part({{ expr }}, '.', 1) as bigint) * 1000000
                + cast(rpad(left(split_part({{ expr }}, '.', 2), 6), 6, '0') as bigint)
            )
        -- a wall clock without a zone is its own group 1: no capture needed (a full match
        -- costs 0.5 s per 10M values, the capture 1.2 s)
        when regexp_full_match({{ expr }}, '{{ api_trust.iso_wall_clock_pattern() }}')
            then try_cast({{ expr }} as timestamp)
        when lower({{ expr }}) in ('infinity', '+infinity') then cast('infinity' as timestamp)
        when lower({{ expr }}) = '-infinity' then cast('-infinity' as timestamp)
        else try_cast(nullif(regexp_extract({{ expr }}, '{{ api_trust.iso_timestamp_pattern() }}', 1), '') as timestamp)
    end
{%- endmacro %}

{% macro spark__timestamp_wall_clock(expr) -%}
    case
        when {{ expr }} rlike '^{{ api_trust.epoch_ms_pattern() }}$'
            then timestamp_millis(cast({{ expr }} as bigint))
        when {{ expr }} rlike '^{{ api_trust.epoch_s_pattern() }}$'
            then timestamp_micros(cast(floor(cast({{ expr }} as decimal(19, 9)) * 1000000) as bigint))
        else try_cast(nullif(regexp_extract({{ expr }}, '{{ api_trust.iso_timestamp_pattern() }}', 1), '') as timestamp)
    end
{%- endmacro %}

{# The zone written after an ISO timestamp (`Z`, `+05:30`, `+0530`, `+05`, or a name); null when none. #}
{% macro timestamp_zone_text(expr) -%}
    {{ return(adapter.dispatch('timestamp_zone_text', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__timestamp_zone_text(expr) -%}
    case
        -- epoch numbers and zone-less wall clocks, most values, have no zone to capture
        when regexp_full_match({{ expr }}, '{{ api_trust.epoch_s_pattern() }}|{{ api_trust.epoch_ms_pattern() }}|{{ api_trust.iso_wall_clock_pattern() }}') then null
        else nullif(regexp_extract({{ expr }}, '{{ api_trust.iso_timestamp_pattern() }}', 2), '')
    end
{%- endmacro %}

{% macro spark__timestamp_zone_text(expr) -%}
    nullif(regexp_extract({{ expr }}, '{{ api_trust.iso_timestamp_pattern() }}', 2), '')
{%- endmacro %}

{#
    Minutes east of UTC for `Z` or a numeric offset up to 18:00; null for names
    and impossible offsets. The parts are cast safely: a name's letters may be
    evaluated before the pattern check rules them out.
#}
{% macro fixed_offset_minutes(zone) -%}
    {%- set hours = api_trust.safe_cast('substr(' ~ zone ~ ', 2, 2)', 'integer') -%}
    {%- set minutes = "coalesce(" ~ api_trust.safe_cast("nullif(substr(replace(" ~ zone ~ ", ':', ''), 4, 2), '')", 'integer') ~ ", 0)" -%}
    case
        when upper({{ zone }}) = 'Z' then 0
        when
            {{ api_trust.full_match(zone, '[+-][0-9]{2}(:?[0-9]{2})?') }}
            and {{ hours }} * 60 + {{ minutes }} <= 18 * 60
            and {{ minutes }} < 60
            then (case when {{ zone }} like '-%' then -1 else 1 end) * ({{ hours }} * 60 + {{ minutes }})
    end
{%- endmacro %}

{# True when the engine's time-zone database knows the name (any case). #}
{# Naive wall-clock time minus a whole number of minutes: a fixed offset applied. #}
{% macro minus_minutes(expr, minutes) -%}
    {{ return(adapter.dispatch('minus_minutes', 'api_trust')(expr, minutes)) }}
{%- endmacro %}

{% macro default__minus_minutes(expr, minutes) -%}
    ({{ expr }} - to_minutes(cast({{ minutes }} as bigint)))
{%- endmacro %}

{% macro spark__minus_minutes(expr, minutes) -%}
    ({{ expr }} - make_interval(0, 0, 0, 0, 0, {{ minutes }}))
{%- endmacro %}

{#
    A naive local time in a named zone, as naive UTC. ICU resolves a time the
    zone skips or repeats by itself; zone_local_time_matches says when it had to.
#}
{% macro zone_local_to_utc(local_expr, zone) -%}
    {{ return(adapter.dispatch('zone_local_to_utc', 'api_trust')(local_expr, zone)) }}
{%- endmacro %}

{% macro default__zone_local_to_utc(local_expr, zone) -%}
    (timezone({{ zone }}, {{ local_expr }}) at time zone 'UTC')
{%- endmacro %}

{% macro spark__zone_local_to_utc(local_expr, zone) -%}
    to_utc_timestamp({{ local_expr }}, {{ zone }})
{%- endmacro %}

{# A naive UTC time as naive local time in a named zone. #}
{% macro zone_utc_to_local(utc_expr, zone) -%}
    {{ return(adapter.dispatch('zone_utc_to_local', 'api_trust')(utc_expr, zone)) }}
{%- endmacro %}

{% macro default__zone_utc_to_local(utc_expr, zone) -%}
    timezone({{ zone }}, timezone('UTC', {{ utc_expr }}))
{%- endmacro %}

{% macro spark__zone_utc_to_local(utc_expr, zone) -%}
    from_utc_timestamp({{ utc_expr }}, {{ zone }})
{%- endmacro %}

{#
    How many UTC instants a local time stands for in a named zone: 1 normally,
    2 when clocks fall back (the hour repeats), 0 when they spring forward (the
    hour is skipped). Candidates are the local time minus the zone's offset 12
    hours before and after ICU's pick; a candidate counts when it maps back to
    the same local time. `utc_pick` is zone_local_to_utc of the same values.
    Portable given zone_utc_to_local, add_hours and seconds_between.
#}
{% macro zone_local_time_matches(local_expr, zone, utc_pick) -%}
    {%- set before = api_trust.add_hours(utc_pick, -12) -%}
    {%- set after = api_trust.add_hours(utc_pick, 12) -%}
    {%- set offset_before = api_trust.seconds_between(before, api_trust.zone_utc_to_local(before, zone)) -%}
    {%- set offset_after = api_trust.seconds_between(after, api_trust.zone_utc_to_local(after, zone)) -%}
    (
        case
            when {{ api_trust.seconds_between(local_expr, api_trust.zone_utc_to_local(
                api_trust.minus_minutes(local_expr, offset_before ~ ' / 60'), zone)) }} = 0
                then 1
            else 0
        end
        + case
            when
                {{ offset_after }} <> {{ offset_before }}
                and {{ api_trust.seconds_between(local_expr, api_trust.zone_utc_to_local(
                    api_trust.minus_minutes(local_expr, offset_after ~ ' / 60'), zone)) }} = 0
                then 1
            else 0
        end
    )
{%- endmacro %}

{# Text that is an integer as written (digits only, up to 18), as bigint; null otherwise. #}
{% macro parse_integer_text(expr) -%}
    {{ return(adapter.dispatch('parse_integer_text', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__parse_integer_text(expr) -%}
    case when regexp_full_match({{ expr }}, '[0-9]{1,18}') then try_cast({{ expr }} as bigint) end
{%- endmacro %}

{% macro spark__parse_integer_text(expr) -%}
    case when {{ expr }} rlike '^[0-9]{1,18}$' then cast({{ expr }} as bigint) end
{%- endmacro %}

{# A timestamp text whose date is written as numbers before a four-digit year (`01/12/2026
   10:00:00`, `1.12.2026`, `01-12-2026`) with that date in ISO order (`2026-12-01 10:00:00`),
   by `date_order` (an SQL expression: the batch's, from stg_logs__load_batches), `dmy` or
   `mdy`; any other text as it is. A date that is no date (`31/02/2026`) stays unparseable. #}
{% macro iso_date_text(expr, date_order) -%}
    {%- set date = '([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})' -%}
    case
    {%- for order, month, day in [('dmy', 2, 1), ('mdy', 1, 2)] %}
        when {{ date_order }} = '{{ order }}' and {{ api_trust.matches(expr, '^' ~ date ~ '([ T]|$)') }}
            then concat(
                regexp_extract({{ expr }}, '^{{ date }}', 3), '-',
                lpad(regexp_extract({{ expr }}, '^{{ date }}', {{ month }}), 2, '0'), '-',
                lpad(regexp_extract({{ expr }}, '^{{ date }}', {{ day }}), 2, '0'),
                substr({{ expr }}, length(regexp_extract({{ expr }}, '^{{ date }}', 0)) + 1)
            )
    {%- endfor %}
        else {{ expr }}
    end
{%- endmacro %}

{# A duration text in milliseconds: a number, read as milliseconds (with a decimal comma where
   `decimal_mark` is the comma: decimal_point_text), or a number with its unit, as Go's
   time.Duration and many loggers write one (`250ms`, `1.5s`, `350us`, `350µs`, `800 ns`,
   any case); null otherwise. #}
{% macro parse_milliseconds_text(expr, decimal_mark) -%}
    {%- set number = '([0-9]+[.]?[0-9]*|[.][0-9]+)' -%}
    {%- set units = [('ns', '/ 1000000'), ('us', '/ 1000'), ('µs', '/ 1000'), ('μs', '/ 1000'), ('ms', ''), ('s', '* 1000')] -%}
    coalesce(
        {{ api_trust.parse_decimal_text(api_trust.decimal_point_text(expr, decimal_mark)) }},
        case
        {%- for unit, factor in units %}
            when {{ api_trust.full_match('lower(' ~ expr ~ ')', number ~ ' ?' ~ unit) }}
                then try_cast(regexp_extract(lower({{ expr }}), '^{{ number }}', 1) as double) {{ factor }}
        {%- endfor %}
        end
    )
{%- endmacro %}

{# Decimal text with a decimal point, as parse_decimal_text reads it: a number written with a
   decimal comma (`120,5`, `-0,25`) where `decimal_mark` (an SQL expression: the batch's, from
   stg_logs__load_batches) is the comma; any other text as it is. Where the comma is not the
   decimal mark, `1,234` may mean a thousand: it stays as it is (and is no number). #}
{% macro decimal_point_text(expr, decimal_mark) -%}
    case
        when {{ decimal_mark }} = ',' and {{ api_trust.full_match(expr, '[+-]?[0-9]+,[0-9]+') }}
            then replace({{ expr }}, ',', '.')
        else {{ expr }}
    end
{%- endmacro %}

{# Decimal text (optional sign, fraction, exponent) that is a finite double; null otherwise (inf, nan, 1e400, 0x10). #}
{% macro parse_decimal_text(expr) -%}
    {{ return(adapter.dispatch('parse_decimal_text', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__parse_decimal_text(expr) -%}
    case
        when
            regexp_full_match({{ expr }}, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,4})?')
            and isfinite(try_cast({{ expr }} as double))
            then try_cast({{ expr }} as double)
    end
{%- endmacro %}

{% macro spark__parse_decimal_text(expr) -%}
    case
        when
            {{ expr }} rlike '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,4})?$'
            and abs(try_cast({{ expr }} as double)) < double('Infinity')
            then try_cast({{ expr }} as double)
    end
{%- endmacro %}
