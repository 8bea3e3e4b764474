{#
    DuckDB's threads per query while a model runs alone (profiles.yml, the plugin's
    `query_threads`). With `auto` the plugin shares the cores among the models dbt
    builds at once (one each for two models on two cores), which a build of many
    models side by side gains from. A model that a full build runs alone (the
    validation of every landed record, which every other model waits for) would then
    leave cores idle: its pre-hook gives DuckDB every core and its post-hook shares
    them again. Only under `auto`: a number or `all` is the user's, for every query.
    `threads` is one setting of the whole DuckDB database, so while that model runs
    the model beside it (if any) gets every core too. The shared count is kept in a
    variable of the model's own connection, which runs both hooks.
#}
{% macro is_query_threads_auto() -%}
    {%- set modes = [] -%}
    {%- for plugin in target.get('plugins') or [] -%}
        {%- set value = (plugin.get('config') or {}).get('query_threads') -%}
        {%- if value is not none -%}
            {%- do modes.append(value | string | trim | lower) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(target.type == 'duckdb' and modes[:1] == ['auto']) }}
{%- endmacro %}

{% macro query_threads_for_a_model_run_alone() -%}
    {%- if api_trust.is_query_threads_auto() -%}
        set variable api_trust_shared_query_threads = (select current_setting('threads'));
        reset threads
    {%- endif -%}
{%- endmacro %}

{% macro query_threads_shared_again() -%}
    {%- if api_trust.is_query_threads_auto() -%}
        set threads = coalesce(getvariable('api_trust_shared_query_threads'), current_setting('threads'))
    {%- endif -%}
{%- endmacro %}
