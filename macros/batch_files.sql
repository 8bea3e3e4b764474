{#
    A model stored as Parquet files beside the warehouse (`batch_files`, DuckDB only):
    `<warehouse>.tables/<schema>/<model>/run-<invocation>.parquet`, one file per run
    that added rows, and the model is a view over all of them. Writing a table of
    text costs DuckDB about 70 ns a value whatever its compression; its Parquet writer
    does the same rows in about two thirds of the CPU, and reading LZ4 files back costs
    about what reading a table does (README "Benchmarks"). One file a run, not one a batch: a write
    partitioned by batch cost +8 CPU-seconds of 12M validated records, most of the gain.

    Kept up to date batch by batch, like an incremental model: a run writes the rows
    of the batches it has not stored yet (the model reads `is_batch_files_incremental()`
    where others read `is_incremental()`); the files are rewritten without the batches
    that left the landing zone (drop_batch_files_no_longer_landed, a pre-hook); a full
    refresh, a missing view, a view over another folder or a table of the model from
    before write them all again. A file is written under a `.pending` name and renamed
    once complete, so the view never reads half a file; a run killed before that leaves
    a pending file, removed by the next run. The file operations are the dbt plugin's
    SQL functions (scripts/api_trust/dbt_plugin.py). Spark builds the same model as a
    table (batch_files_materialization).
#}

{% macro batch_files_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'batch_files') }}
{%- endmacro %}

{# The model's folder of files, absolute (made when missing); none at parse time. #}
{% macro batch_files_folder(relation) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        "select api_trust_model_folder('" ~ relation.schema ~ "', '" ~ relation.identifier ~ "')") -%}
    {{ return(result.columns[0].values()[0]) }}
{%- endmacro %}

{#
    How a batch_files model's files are written. LZ4: at 12M validated records, a scan of
    eleven columns cost 0.88 CPU-seconds from LZ4 files, 0.77 from a DuckDB table and
    1.25 from ZSTD files (the build reads these records about twenty times); the files
    take 420 MiB against 244 for ZSTD, and writing them costs about the same.
#}
{% macro batch_files_copy_options() -%}
    (format parquet, compression lz4)
{%- endmacro %}

{# The files of a model's folder as read_parquet's argument. #}
{% macro batch_files_glob(folder) -%}
    '{{ folder }}/*.parquet'
{%- endmacro %}

{#
    Whether this run adds to the model's files (true) or writes them all (false): the
    model is a view over files of its folder that exist, and this is no full refresh.
#}
{% macro is_batch_files_incremental() -%}
    {%- if not execute or model.config.materialized != 'batch_files' or should_full_refresh() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set folder = api_trust.batch_files_folder(this) -%}
    {%- set found = run_query(
        "select count(*) from duckdb_views() where database_name = '" ~ this.database
        ~ "' and schema_name = '" ~ this.schema ~ "' and view_name = '" ~ this.identifier
        ~ "' and contains(sql, " ~ api_trust.batch_files_glob(folder) ~ ")"
        ~ " and exists (select 1 from glob(" ~ api_trust.batch_files_glob(folder) ~ "))"
    ).columns[0].values()[0] -%}
    {{ return(found > 0) }}
{%- endmacro %}

{#
    Pre-hook of a batch_files model: each file holding rows of a batch no longer in
    `landed` (a relation with batch_id) is written again without them, or removed when
    nothing of it is left; when nothing is left of any file, one empty file stays, so
    that the view, which the run's SQL reads (compiled before this hook ran), has its
    columns, until the run has written its own file. Does nothing when the run writes
    every file anyway.
#}
{% macro drop_batch_files_no_longer_landed(landed) -%}
    {%- if api_trust.is_batch_files_incremental() -%}
        {%- set folder = api_trust.batch_files_folder(this) -%}
        {%- set is_gone = "batch_id not in (select landed.batch_id from " ~ landed ~ " as landed)" -%}
        {%- set files = run_query(
            "select filename, bool_and(" ~ is_gone ~ ") as is_all_gone, bool_or(" ~ is_gone ~ ") as is_stale"
            ~ " from read_parquet(" ~ api_trust.batch_files_glob(folder) ~ ", filename = true)"
            ~ " group by filename order by filename"
        ) -%}
        {%- set stale = [] -%}
        {%- set kept_any = [] -%}
        {%- for row in files.rows -%}
            {%- do stale.append(row) if row[2] -%}
            {%- do kept_any.append(row) if not row[1] -%}
        {%- endfor -%}
        {%- set none_left = kept_any | length == 0 -%}
        {%- for row in stale -%}
            {%- if not row[1] or (none_left and loop.last) -%}
                {%- set kept = folder ~ '/run-' ~ invocation_id ~ '-kept-' ~ loop.index ~ '.parquet' -%}
                {%- do run_query(
                    "copy (select * from read_parquet('" ~ row[0] ~ "') where not (" ~ is_gone ~ "))"
                    ~ " to '" ~ kept ~ ".pending' " ~ api_trust.batch_files_copy_options()) -%}
                {%- do run_query("select api_trust_rename_file('" ~ kept ~ ".pending', '" ~ kept ~ "')") -%}
            {%- endif -%}
            {%- do run_query("select api_trust_remove_file('" ~ row[0] ~ "')") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as nothing_left_to_drop
{%- endmacro %}

{% materialization batch_files, adapter='duckdb' %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set folder = api_trust.batch_files_folder(this) -%}
    {%- set files = api_trust.batch_files_glob(folder) -%}
    {%- set run_file = folder ~ '/run-' ~ invocation_id ~ '.parquet' -%}

    {#- as the model's SQL was compiled: before the hooks, which leave at least one file -#}
    {%- set incremental = api_trust.is_batch_files_incremental() -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {#- a run killed while writing left a pending file, which the view never read -#}
    {%- do run_query("select api_trust_remove_file(file) from glob('" ~ folder ~ "/*.pending')") -%}

    {% call statement('main') -%}
        copy ({{ compiled_code }}) to '{{ run_file }}.pending' {{ api_trust.batch_files_copy_options() }}
    {%- endcall %}

    {%- set written = run_query(
        "select count(*) from read_parquet('" ~ run_file ~ ".pending')").columns[0].values()[0] -%}
    {%- if not incremental -%}
        {%- do run_query("select api_trust_remove_file(file) from glob(" ~ files ~ ")") -%}
    {%- endif -%}
    {%- if incremental and written == 0 -%}
        {#- nothing new: the files there are keep the view's columns -#}
        {%- do run_query("select api_trust_remove_file('" ~ run_file ~ ".pending')") -%}
    {%- else -%}
        {%- do run_query("select api_trust_rename_file('" ~ run_file ~ ".pending', '" ~ run_file ~ "')") -%}
    {%- endif -%}
    {%- if incremental and written > 0 -%}
        {#- an empty file the pre-hook kept (every batch had left): this run's file has the columns -#}
        {%- do run_query(
            "select api_trust_remove_file(file_name) from parquet_file_metadata(" ~ files ~ ") where num_rows = 0") -%}
    {%- endif -%}

    {%- if existing_relation is not none and existing_relation.type != 'view' -%}
        {#- the model's table from before it was stored as files -#}
        {{ drop_relation_if_exists(existing_relation) }}
    {%- endif %}
    {% call statement('create_view') -%}
        create or replace view {{ target_relation }} as
        select * from read_parquet({{ files }}, union_by_name = true)
    {%- endcall %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
