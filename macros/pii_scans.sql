{#
    Scanning text for personal data (the rules: macros/pii.sql). The
    `no_pii_in_text` test scans a whole relation on every run; the landed
    records and the facts, the largest, are scanned once per batch instead
    (pii_batch_scans, doc pii_batch_scans).
#}

{# The text columns of a relation as a scan reads them (quoted; maps, structs and lists
   cast to text, and with `named` given their own name back), without the `exclude`d ones;
   empty at parse time. #}
{% macro pii_text_columns(relation, exclude=[], named=false) -%}
    {%- set text_columns = [] -%}
    {%- if execute -%}
        {%- for col in adapter.get_columns_in_relation(relation) if col.name | lower not in exclude -%}
            {%- if col.is_string() -%}
                {%- do text_columns.append(adapter.quote(col.name)) -%}
            {#- an ENUM is text too (the root-cause cube's, macro rca_value_types) -#}
            {%- elif col.dtype.upper().startswith(('MAP', 'STRUCT', 'LIST', 'ENUM')) or col.dtype.endswith('[]') -%}
                {%- do text_columns.append('cast(' ~ adapter.quote(col.name) ~ ' as string)'
                    ~ (' as ' ~ adapter.quote(col.name) if named else '')) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(text_columns) }}
{%- endmacro %}

{# A row's text columns joined by a line feed, which no rule matches inside a value (each
   rule's boundary takes it as it takes the start or end of a value): one match a row
   instead of one a column; null without text columns. Join it once in a subquery:
   has_pii reads its argument three times (10M facts: 12.4-14.5 s with the join inline,
   9.0 s so). #}
{% macro pii_joined_text(text_columns) -%}
    {%- if text_columns | length == 0 -%}
        cast(null as string)
    {%- else -%}
        concat_ws(chr(10), {{ text_columns | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{#
    The body of a batch scan model (doc pii_batch_scans): one row per landed batch
    with how many of `relation`'s rows of the batch hold personal data. A batch
    whose scan key (below) is unchanged since the model's last build keeps that
    build's row; every other batch is scanned. A table rebuilt on every run, never
    appended to, so that every landed batch has a current row by construction.
    `generations`: a query of (batch_id, generation), what else a batch's rows of
    `relation` depend on, folded into the key. `extra_texts`: SQL expressions over
    `relation`'s columns scanned beside its text columns (values a view derives from
    them, such as a JSON field decoded), folded into the key with them.

    The batch's lineage columns (`batch_id`, and `source_name` where the relation has
    it), alike on every row of a batch, are scanned once per distinct value: the rows
    are counted by batch and those values, and a value that holds personal data counts
    every row that carries it. Exact whatever the rows hold; on the 10M landed records
    it took a sixth off the scan (their ~55 characters a row are a fifth of the text).

    The key: the batch (id, content hash, landing time: a batch landed again has a
    new one), the scan (the rules as has_pii renders them, the text columns), the
    definition of the relation if it is a view, and the generation.
#}
{% macro pii_batch_scans(relation, generations=none, extra_texts=[]) -%}
{#- the lineage columns that are text are scanned once per value, the others once a row;
    batch_id groups whatever its type -#}
{%- set lineage = [adapter.quote('batch_id'), adapter.quote('source_name')] -%}
{%- set lineage_columns, text_columns = [], [] -%}
{%- for column in api_trust.pii_text_columns(relation) -%}
    {%- do (lineage_columns if column in lineage else text_columns).append(column) -%}
{%- endfor -%}
{%- set group_columns = [adapter.quote('batch_id')] + lineage_columns | reject('in', lineage[:1]) | list -%}
{%- set text_columns = text_columns + extra_texts -%}
{%- set previous = api_trust.previous_pii_scans() -%}
{%- set keyed_batches -%}
    select
        batches.batch_id,
        batches.landed_count,
        -- letters only (digits as g-p): a hex digest's digit runs can read as a phone number
        translate(md5(
            '{{ local_md5(api_trust.has_pii("t") ~ "|" ~ text_columns | join(",") ~ "|" ~ lineage_columns | join(",")) }}'
            || '|' || {{ api_trust.relation_definition_fingerprint(relation) }}
            || '|' || batches.batch_id
            || '|' || coalesce(batches.content_hash, '')
            || '|' || coalesce(cast(batches.loaded_at as string), '')
            {%- if generations %}
            || '|' || coalesce(generations.generation, '')
            {%- endif %}
        ), '0123456789', 'ghijklmnop') as scan_key
    from {{ ref('stg_logs__load_batches') }} as batches
    {%- if generations %}
    left join ({{ generations }}) as generations
        on batches.batch_id = generations.batch_id
    {%- endif %}
{%- endset -%}
{%- set to_scan = none -%}
{%- if previous is not none and execute -%}
    {#- a list of constants, so that the filter reaches the scanned relation's storage and
        skips every other batch (a subquery here read them all) -#}
    {%- set to_scan = run_query(
        'select keyed.batch_id from (' ~ keyed_batches ~ ') as keyed where keyed.scan_key not in '
        ~ '(select previous.scan_key from ' ~ previous ~ ' as previous) order by 1'
    ).columns[0].values() | list -%}
{%- endif %}

with

batches as (
    {{ keyed_batches }}
),

{%- if previous is not none %}

kept as (
    select
        batches.batch_id,
        batches.landed_count,
        batches.scan_key,
        previous.scanned_record_count,
        previous.pii_record_count,
        previous.first_pii_record_no,
        previous.scanned_at
    from batches
    inner join {{ previous }} as previous
        on batches.scan_key = previous.scan_key
),
{%- endif %}

lineage_counted as (
    -- counted per batch and lineage value before the join to the batches (a join of
    -- every row first cost more)
    select
        {{ group_columns | join(',\n        ') }},
        count(*) as record_count,
        count(case when scanned.has_pii then 1 end) as pii_record_count,
        min(case when scanned.has_pii then scanned.source_record_no end) as first_pii_record_no,
        min(scanned.source_record_no) as first_record_no
    from (
        select
            {{ group_columns | join(',\n            ') }},
            joined.source_record_no,
            coalesce({{ api_trust.has_pii('joined.scanned_text') }}, false) as has_pii
        from (
            -- the columns joined once (why: macro pii_joined_text)
            select
                {{ group_columns | join(',\n                ') }},
                source_record_no,
                {{ api_trust.pii_joined_text(text_columns) }} as scanned_text
            from {{ relation }}
            {%- if to_scan is not none %}
            where batch_id in {{ api_trust.sql_list(to_scan) }}
            {%- endif %}
        ) as joined
    ) as scanned
    group by {{ group_columns | join(', ') }}
),

records_scanned as (
    -- a lineage value with personal data counts every row that carries it
    select
        lineage_scanned.batch_id,
        cast(sum(lineage_scanned.record_count) as bigint) as scanned_record_count,
        cast(sum(case
            when lineage_scanned.has_pii then lineage_scanned.record_count
            else lineage_scanned.pii_record_count
        end) as bigint) as pii_record_count,
        min(case
            when lineage_scanned.has_pii then lineage_scanned.first_record_no
            else lineage_scanned.first_pii_record_no
        end) as first_pii_record_no
    from (
        select
            lineage_counted.*,
            coalesce({{ api_trust.has_pii(api_trust.pii_joined_text(lineage_columns)) }}, false) as has_pii
        from lineage_counted
    ) as lineage_scanned
    group by lineage_scanned.batch_id
),

scanned as (
    select
        batches.batch_id,
        batches.landed_count,
        batches.scan_key,
        coalesce(records_scanned.scanned_record_count, 0) as scanned_record_count,
        coalesce(records_scanned.pii_record_count, 0) as pii_record_count,
        records_scanned.first_pii_record_no,
        cast('{{ run_started_at }}' as timestamp) as scanned_at
    from batches
    left join records_scanned
        on batches.batch_id = records_scanned.batch_id
    {%- if to_scan is not none %}
    where batches.batch_id in {{ api_trust.sql_list(to_scan) }}
    {%- endif %}
),

scans as (
    select * from scanned
    {%- if previous is not none %}
    union all
    select * from kept
    {%- endif %}
)

select * from scans
{%- endmacro %}

{# The scan model's last build when its rows can be kept: DuckDB (Spark cannot read a table
   while it overwrites it), not a full refresh, and the same columns. none otherwise. #}
{% macro previous_pii_scans() -%}
    {%- if not execute or target.type == 'spark' or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set previous = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- if previous is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set expected = ['batch_id', 'landed_count', 'scan_key', 'scanned_record_count', 'pii_record_count',
                        'first_pii_record_no', 'scanned_at'] -%}
    {%- set found = adapter.get_columns_in_relation(previous) | map(attribute='name') | map('lower') | list -%}
    {{ return(previous if found == expected else none) }}
{%- endmacro %}

{# The definition of a view, hashed ('' for a table): a batch's rows read through a view
   change with it. #}
{% macro relation_definition_fingerprint(relation) -%}
    {{ return(adapter.dispatch('relation_definition_fingerprint', 'api_trust')(relation)) }}
{%- endmacro %}

{% macro default__relation_definition_fingerprint(relation) -%}
    coalesce((
        select md5(views.sql) from duckdb_views() as views
        where views.schema_name = '{{ relation.schema }}' and views.view_name = '{{ relation.identifier }}'
    ), '')
{%- endmacro %}

{# Spark rebuilds the scans whole on every run (previous_pii_scans). #}
{% macro spark__relation_definition_fingerprint(relation) -%}
    ''
{%- endmacro %}
