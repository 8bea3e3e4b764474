{#
    A model stored as Parquet files beside the warehouse (`batch_files`, DuckDB only):
    `<warehouse>.tables/<schema>/<model>/run-<invocation>.key-<key>.parquet`, one file
    per run that added rows, and the model is a view over all of them. Writing a table of
    text costs DuckDB about 70 ns a value whatever its compression; its Parquet writer
    does the same rows in about two thirds of the CPU, and reading LZ4 files back costs
    about what reading a table does (benchmarks/HISTORY.md). One file a run, not one a batch: a write
    partitioned by batch cost +8 CPU-seconds of 12M validated records, most of the gain.

    Kept up to date batch by batch, like an incremental model: a run writes the rows
    of the batches it has not stored yet (the model reads `is_batch_files_incremental()`
    where others read `is_incremental()`); the files are rewritten without the batches
    that left the landing zone (drop_batch_files_no_longer_landed, a pre-hook); a full
    refresh, a missing view, a view over another folder, a table of the model from
    before or a file written under another key write them all again. The key
    (batch_files_key) fingerprints the model's code, the vars in its `meta.batch_vars`
    and the seeds in its `meta.batch_inputs`: a batch is processed once, so without it
    an edited rule, catalogue or alias would reach only the batches that come after.
    A file is written under a `.pending` name and renamed once complete, so the view
    never reads half a file; a run killed before that leaves
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
    {%- set result = run_query("select api_trust_model_folder("
        ~ api_trust.sql_string(relation.schema) ~ ", " ~ api_trust.sql_string(relation.identifier) ~ ")") -%}
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

{#
    The key of this run's files: a hash of the model's definition (definition_fingerprint
    of its `meta.batch_inputs` and `meta.batch_vars`), read when the model runs; none at
    parse time. A file's name carries the key it was written under.
#}
{% macro batch_files_key() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query("select left(md5("
        ~ api_trust.definition_fingerprint('batch_inputs', 'batch_vars') ~ "), 16)") -%}
    {{ return(result.columns[0].values()[0]) }}
{%- endmacro %}

{# The name of a file this run writes: `<folder>/<stem>.key-<key>.parquet`. #}
{% macro batch_files_file(folder, stem) -%}
    {{ return(folder ~ '/' ~ stem ~ '.key-' ~ api_trust.batch_files_key() ~ '.parquet') }}
{%- endmacro %}

{#
    The keys the files of a batch_files model's folder were written under (a sorted
    list; a file from before keys, ''): one key when every batch was processed by the
    same definition. Empty on Spark and at parse time. What a model downstream folds
    into its own fingerprints (int_call_days_fingerprinted).
#}
{% macro batch_files_stored_keys(relation) -%}
    {%- if not execute or target.type == 'spark' -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set files = api_trust.batch_files_glob(api_trust.batch_files_folder(relation)) -%}
    {%- set result = run_query("select distinct coalesce(regexp_extract(file, '[.]key-([0-9a-f]+)[.]parquet$', 1), '')"
        ~ " as file_key from glob(" ~ files ~ ") order by file_key") -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}

{# The files of a model's folder as read_parquet's argument. #}
{% macro batch_files_glob(folder) -%}
    {{ api_trust.sql_string(folder ~ '/*.parquet') }}
{%- endmacro %}

{#
    Whether this run adds to the model's files (true) or writes them all (false): the
    model is a view over files of its folder that exist, all written under this run's
    key, and this is no full refresh.
#}
{% macro is_batch_files_incremental() -%}
    {%- if not execute or model.config.materialized != 'batch_files' or should_full_refresh() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set files = api_trust.batch_files_glob(api_trust.batch_files_folder(this)) -%}
    {%- set found = run_query(
        "select count(*) from duckdb_views() where database_name = " ~ api_trust.sql_string(this.database)
        ~ " and schema_name = " ~ api_trust.sql_string(this.schema)
        ~ " and view_name = " ~ api_trust.sql_string(this.identifier)
        ~ " and contains(sql, " ~ files ~ ") and exists (select 1 from glob(" ~ files ~ "))"
    ).columns[0].values()[0] -%}
    {{ return(found > 0 and api_trust.batch_files_stored_keys(this) == [api_trust.batch_files_key()]) }}
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
        {#- the files that hold a batch gone: whether anything of each is left, and of any file -#}
        {%- set stale = run_query(
            "select filename, is_all_gone, bool_and(is_all_gone) over () as is_none_left from ("
            ~ "select filename, bool_and(" ~ is_gone ~ ") as is_all_gone, bool_or(" ~ is_gone ~ ") as is_stale"
            ~ " from read_parquet(" ~ api_trust.batch_files_glob(folder) ~ ", filename = true)"
            ~ " group by filename) as files qualify is_stale order by filename"
        ) -%}
        {%- for filename, is_all_gone, is_none_left in stale.rows -%}
            {%- if not is_all_gone or (is_none_left and loop.last) -%}
                {%- set kept = api_trust.batch_files_file(folder, 'run-' ~ invocation_id ~ '-kept-' ~ loop.index) -%}
                {%- do run_query(
                    "copy (select * from read_parquet(" ~ api_trust.sql_string(filename) ~ ") where not ("
                    ~ is_gone ~ ")) to " ~ api_trust.sql_string(kept ~ '.pending') ~ " "
                    ~ api_trust.batch_files_copy_options()) -%}
                {%- do run_query("select api_trust_rename_file(" ~ api_trust.sql_string(kept ~ '.pending')
                    ~ ", " ~ api_trust.sql_string(kept) ~ ")") -%}
            {%- endif -%}
            {%- do run_query("select api_trust_remove_file(" ~ api_trust.sql_string(filename) ~ ")") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as nothing_left_to_drop
{%- endmacro %}

{% materialization batch_files, adapter='duckdb' %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set folder = api_trust.batch_files_folder(this) -%}
    {%- set files = api_trust.batch_files_glob(folder) -%}
    {%- set run_file = api_trust.batch_files_file(folder, 'run-' ~ invocation_id) -%}
    {%- set pending = run_file ~ '.pending' -%}

    {#- as the model's SQL was compiled: before the hooks, which leave at least one file -#}
    {%- set incremental = api_trust.is_batch_files_incremental() -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {#- a run killed while writing left a pending file, which the view never read -#}
    {%- do run_query("select api_trust_remove_file(file) from glob("
        ~ api_trust.sql_string(folder ~ '/*.pending') ~ ")") -%}

    {% call statement('main') -%}
        copy ({{ compiled_code }}) to {{ api_trust.sql_string(pending) }} {{ api_trust.batch_files_copy_options() }}
    {%- endcall %}

    {%- set written = run_query("select count(*) from read_parquet("
        ~ api_trust.sql_string(pending) ~ ")").columns[0].values()[0] -%}
    {%- if incremental and written == 0 -%}
        {#- nothing new: the files there are keep the view's columns -#}
        {%- do run_query("select api_trust_remove_file(" ~ api_trust.sql_string(pending) ~ ")") -%}
    {%- else -%}
        {#- a full write replaces every file; a run that adds rows, the empty file the pre-hook
            kept when every batch had left -#}
        {%- if incremental -%}
            {%- do run_query("select api_trust_remove_file(file_name) from parquet_file_metadata("
                ~ files ~ ") where num_rows = 0") -%}
        {%- else -%}
            {%- do run_query("select api_trust_remove_file(file) from glob(" ~ files ~ ")") -%}
        {%- endif -%}
        {%- do run_query("select api_trust_rename_file(" ~ api_trust.sql_string(pending) ~ ", "
            ~ api_trust.sql_string(run_file) ~ ")") -%}
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
