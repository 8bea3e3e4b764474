{#
    Fixed log-spaced latency buckets: `per_decade` buckets per power of ten,
    bucket 0 starting at 1 ms, clamped to [0, max_bucket] (default 0..120, so
    1 ms .. 10^6 ms; anything faster lands in 0, anything slower in 120).

    Because the edges never depend on the data, counts per bucket add up
    exactly across APIs, days and warehouses: merge histograms by summing
    calls, then read any percentile off the merged counts. Charts and tests
    call these macros so the edges are written down once.

    Plain arithmetic (floor, log10, power, greatest, least) that DuckDB and
    Spark both run as written, so there is no dispatch.
#}
{% macro latency_bucket_no(latency_expr, per_decade=20, max_bucket=120) -%}
    cast(
        least(
            greatest(floor({{ per_decade }} * log10(greatest({{ latency_expr }}, 1.0))), 0),
            {{ max_bucket }}
        ) as integer
    )
{%- endmacro %}

{# Inclusive lower edge of a bucket, in ms: 10^(bucket_no / per_decade). #}
{% macro latency_bucket_lower_ms(bucket_no_expr, per_decade=20) -%}
    cast(power(10.0, {{ bucket_no_expr }} / {{ per_decade }}.0) as double)
{%- endmacro %}

{# Exclusive upper edge of a bucket, in ms: 10^((bucket_no + 1) / per_decade). #}
{% macro latency_bucket_upper_ms(bucket_no_expr, per_decade=20) -%}
    cast(power(10.0, ({{ bucket_no_expr }} + 1) / {{ per_decade }}.0) as double)
{%- endmacro %}
