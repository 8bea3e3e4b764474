{#
    Reading the landing table whatever shape its batches had. Raw columns
    appear as batches bring them (a renamed `latency`, a new `sdk_version`),
    so the staging model asks the warehouse which columns exist at run time.
#}

{# Names (lower case) of the columns a relation has now; empty while parsing. #}
{% macro relation_column_names(relation) -%}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for col in adapter.get_columns_in_relation(relation) -%}
            {%- do names.append(col.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}

{# Every delivered name that means `canonical`: itself first, then its aliases. #}
{% macro names_for_column(canonical) -%}
    {%- set names = [canonical] -%}
    {%- for alias, target in var('log_column_aliases').items() -%}
        {%- if target == canonical -%}{%- do names.append(alias) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{# The delivered text for a canonical column: trimmed, '' and the spellings of no value
   (vars.null_tokens, any case) as null, aliases coalesced. #}
{% macro delivered_text(canonical, present_columns) -%}
    {%- set found = [] -%}
    {%- for name in api_trust.names_for_column(canonical) -%}
        {%- if name in present_columns -%}
            {%- do found.append(api_trust.null_if_no_value("trim(" ~ adapter.quote(name) ~ ")")) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if found | length == 0 -%}
        cast(null as string)
    {%- elif found | length == 1 -%}
        {{ found[0] }}
    {%- else -%}
        coalesce({{ found | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{# A text as null when it is empty or spells no value (vars.null_tokens: `None`, `NULL`, `NaN`,
   `N/A`, `-`, in any case), as programs write a missing value into a file. Only a value as
   short as the longest token is lower-cased to compare: nearly every value skips it. #}
{% macro null_if_no_value(expr) -%}
    {%- set tokens = var('null_tokens') | map('lower') | list -%}
    {%- set longest = tokens | map('length') | max -%}
    case
        when length({{ expr }}) <= {{ longest }} and {{ api_trust.list_holds(tokens, 'lower(' ~ expr ~ ')') }} then null
        else nullif({{ expr }}, '')
    end
{%- endmacro %}

{# True when a list of constants holds the value: a function call, not `in (...)`, which DuckDB
   planned as a hash join inside the staging view (validation +60% CPU at 2M records). #}
{% macro list_holds(values, expr) -%}
    {{ return(adapter.dispatch('list_holds', 'api_trust')(values, expr)) }}
{%- endmacro %}

{% macro default__list_holds(values, expr) -%}
    list_contains(list_value{{ api_trust.sql_list(values) }}, {{ expr }})
{%- endmacro %}

{% macro spark__list_holds(values, expr) -%}
    array_contains(array{{ api_trust.sql_list(values) }}, {{ expr }})
{%- endmacro %}

{# The contract as rows, for models that compare batches against it. #}
{% macro expected_columns_values() -%}
    {%- for col in var('log_columns') %}
        select
            '{{ col.name }}' as column_name,
            {{ 'true' if col.required else 'false' }} as is_required,
            '{{ col.type }}' as expected_type,
            {{ 'true' if col.protocol else 'false' }} as is_protocol
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{# Delivered header name -> canonical name (itself, or the column an alias stands for). #}
{% macro canonical_column_name(expr) -%}
    case {{ expr }}
    {%- for alias, target in var('log_column_aliases').items() %}
        when '{{ alias }}' then '{{ target }}'
    {%- endfor %}
        else {{ expr }}
    end
{%- endmacro %}

{# Names of the required contract columns, in contract order. #}
{% macro required_log_columns() -%}
    {%- set names = [] -%}
    {%- for col in var('log_columns') if col.required -%}{%- do names.append(col.name) -%}{%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{# `<delivered text> as <column>_raw` for every contract column, comma-separated. #}
{% macro delivered_text_columns(present_columns) -%}
    {%- set parts = [] -%}
    {%- for col in var('log_columns') -%}
        {%- do parts.append(api_trust.delivered_text(col.name, present_columns) ~ ' as ' ~ col.name ~ '_raw') -%}
    {%- endfor -%}
    {{ parts | join(',\n        ') }}
{%- endmacro %}

{# Per batch: has_<column> for every required column, from its delivered header. #}
{% macro batch_has_required_columns() -%}
    {%- set parts = [] -%}
    {%- for col in api_trust.required_log_columns() -%}
        {%- do parts.append("max(case when canonical_name = '" ~ col ~ "' then 1 else 0 end) = 1 as has_" ~ col) -%}
    {%- endfor -%}
    {{ parts | join(',\n        ') }}
{%- endmacro %}

{# has_<column>_column flags, true when the batch's header is unknown. #}
{% macro has_required_column_flags(relation_alias) -%}
    {%- set parts = [] -%}
    {%- for col in api_trust.required_log_columns() -%}
        {%- do parts.append('coalesce(' ~ relation_alias ~ '.has_' ~ col ~ ', true) as has_' ~ col ~ '_column') -%}
    {%- endfor -%}
    {{ parts | join(',\n        ') }}
{%- endmacro %}

{# The per-column check results of int_api_calls_validated, in the order reasons are listed. #}
{% macro validation_issue_columns() -%}
    {{ return([
        'timestamp_issue', 'api_name_issue', 'api_version_issue', 'region_issue',
        'client_type_issue', 'document_type_issue', 'status_issue', 'status_code_issue',
        'latency_ms_issue', 'error_reason_issue', 'attempt_no_issue', 'consistency_issue',
    ]) }}
{%- endmacro %}

{# Every delivered text column of a record, trimmed, empty when missing, for its hash. #}
{% macro delivered_record_columns(present_columns) -%}
    {%- set parts = [] -%}
    {%- for col in var('log_columns') -%}
        {%- do parts.append("coalesce(" ~ api_trust.delivered_text(col.name, present_columns) ~ ", '')") -%}
    {%- endfor -%}
    {%- do parts.append("coalesce(extra_fields, '')") -%}
    {{ parts | join(', ') }}
{%- endmacro %}
