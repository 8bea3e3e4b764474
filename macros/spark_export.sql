{#
    Every named model as Parquet files in `<folder>/<name>/`, whatever its
    materialisation (a view too), through Spark's INSERT OVERWRITE DIRECTORY:
    what the engine comparison reads (make test-spark). Spark only:
        dbt run-operation export_parquet --target spark --args '{names: [dim_apis], folder: /tmp/out}'
#}
{% macro export_parquet(names, folder) %}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error('export_parquet runs on the spark target only (DuckDB: COPY ... TO)') }}
    {%- endif -%}
    {%- for name in names %}
        {%- set path = folder ~ '/' ~ name -%}
        {%- do run_query(
            'insert overwrite directory ' ~ api_trust.spark_string_literal(path)
            ~ ' using parquet select * from ' ~ ref(name)
        ) -%}
        {%- do log('export_parquet: ' ~ name ~ ' -> ' ~ path, info=true) -%}
    {%- endfor %}
{% endmacro %}
