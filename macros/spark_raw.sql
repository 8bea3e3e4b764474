{#
    On Spark the raw landing is Parquet exported from the DuckDB landing
    (scripts/api_trust/spark.py): one folder per raw relation under
    API_TRUST_SPARK_DIR/raw. Each source table of schema `raw` (the sources yml
    lists them, once) is registered over its folder again at every run, so a new
    export is what the models read. One statement per query: Spark's session
    cursor runs one at a time.
#}
{% macro spark_raw_landing_tables() %}
    {%- if execute %}
        {%- set root = env_var('API_TRUST_SPARK_DIR', '') %}
        {%- if not root %}
            {{ exceptions.raise_compiler_error("API_TRUST_SPARK_DIR is not set: run the Spark build with `make build-spark`") }}
        {%- endif %}
        {%- do run_query('create database if not exists raw') %}
        {%- for node in graph.sources.values() if node.schema == 'raw' %}
            {%- do run_query('drop table if exists raw.' ~ node.identifier) %}
            {%- do run_query("create table raw." ~ node.identifier ~ " using parquet location '"
                ~ root ~ "/raw/" ~ node.identifier ~ "'") %}
        {%- endfor %}
    {%- endif %}
    select 1
{% endmacro %}
