{#
    Incremental by day (doc incremental_days). A day-grain model rebuilds only
    the days whose facts changed since it last built them: a new day, late rows
    for a past day, a batch that left the landing zone. Each day's facts have a
    fingerprint (int_call_days_fingerprinted: count and a sum of call hashes);
    a model records the fingerprint of every day it built in
    int_incremental_days_built (post-hook record_days_built), and its stale
    days are those whose fingerprint differs from what it recorded. The
    fingerprint also folds in the model's own code and the contents of the
    reference relations it names in `meta: {day_inputs: {name: rows}}` and the vars it
    names in `meta: {day_vars: [...]}`, so editing the model, a seed such as the
    API catalogue or a var such as analysis_dimensions rebuilds every day without
    --full-refresh.
    Statistics over the whole history are not day-grain and stay full tables.
#}

{# The fingerprint of a set of call ids: how many, and the sum of their hashes. #}
{% macro ids_fingerprint(id_column) -%}
    {{ return(adapter.dispatch('ids_fingerprint', 'api_trust')(id_column)) }}
{%- endmacro %}

{% macro default__ids_fingerprint(id_column) -%}
    cast(count(*) as string) || '-' || cast(sum(hash({{ id_column }})) as string)
{%- endmacro %}

{% macro spark__ids_fingerprint(id_column) -%}
    cast(count(*) as string) || '-' || cast(sum(cast(xxhash64({{ id_column }}) as decimal(38, 0))) as string)
{%- endmacro %}

{#
    A scalar subquery: the fingerprint of the rows of a (small, reference) relation
    that `rows` (a SQL condition; none: every row) keeps, over its `columns` (none:
    every column; a count that changes with every batch can be left out).
#}
{% macro relation_fingerprint(relation, rows=none, columns=none) -%}
    {{ return(adapter.dispatch('relation_fingerprint', 'api_trust')(relation, rows, columns)) }}
{%- endmacro %}

{#- the rows (and columns) of a relation a fingerprint reads -#}
{% macro fingerprinted_rows(relation, rows, columns) -%}
    (select {{ columns | join(', ') if columns else '*' }} from {{ relation }}
    {%- if rows %} where {{ rows }}{% endif %})
{%- endmacro %}

{% macro default__relation_fingerprint(relation, rows=none, columns=none) -%}
    (select coalesce(cast(sum(hash(cast(reference_row as string))) as string), '')
    from {{ api_trust.fingerprinted_rows(relation, rows, columns) }} as reference_row)
{%- endmacro %}

{% macro spark__relation_fingerprint(relation, rows=none, columns=none) -%}
    (select coalesce(cast(sum(cast(xxhash64(to_json(struct(*))) as decimal(38, 0))) as string), '')
    from {{ api_trust.fingerprinted_rows(relation, rows, columns) }} as reference_row)
{%- endmacro %}

{#
    What a node's rows are made of as code, as unique ids in a fixed order: the node,
    every view or ephemeral model it reads (through views, to the first table, seed or
    source: their rows are data, which the fingerprints below follow), and every macro of
    this project that any of them calls, through the macros those call, with each
    macro's implementation for this engine and the default one (adapter.dispatch picks
    them by name). Editing any of them changes the definition_fingerprint of every model
    whose closure holds it. dbt's own macros are left out: they change with dbt's
    version, not with this project.
    A model's (or view's) calls are every `name(` in its text that names a macro of
    this project, with what dbt recorded at parse time: dbt records a model's calls as
    its parse renders them, so a call under `{% if execute %}` or `{% if incremental %}`
    is missing there, and it adds such calls to the node as a run renders it, which
    made one run's early and late keys differ. A macro's calls are those dbt extracted
    from its source, every branch's (the same set as reading its text, in 25 ms a call
    of the validation's closure instead of 65).
#}
{% macro code_closure(node) -%}
    {%- if not execute -%}
        {#- while parsing, the graph is being made: nothing reads a fingerprint then -#}
        {{ return([node.unique_id]) }}
    {%- endif -%}
    {%- set parsed = graph.nodes.get(node.unique_id) or node -%}
    {%- set nodes = [parsed.unique_id] -%}
    {%- set macros = [] -%}
    {#- each entry: a code's text, the macros and nodes dbt recorded for it, a model's
        materialization -#}
    {%- set pending = [{'text': parsed.raw_code, 'macros': parsed.depends_on.macros, 'nodes': parsed.depends_on.nodes,
        'materialized': parsed.config.materialized}] -%}
    {#- a for loop over a list it appends to visits what it appends: a walk of the graph -#}
    {%- for current in pending -%}
        {#- a model's calls from its text, a macro's as dbt extracted them (see above) -#}
        {%- set names = modules.re.findall('([A-Za-z_][A-Za-z0-9_]*)\\s*\\(', current.text) if current.materialized else [] -%}
        {%- for macro_id in current.macros -%}
            {#- any package's: a call of dbt's persist_docs runs this project's duckdb__persist_docs -#}
            {%- do names.append(macro_id.split('.')[-1]) -%}
        {%- endfor -%}
        {%- if current.materialized -%}
            {#- the model's materialization, when this project writes it (batch_files) -#}
            {%- do names.append('materialization_' ~ current.materialized ~ '_' ~ adapter.type()) -%}
            {%- do names.append('materialization_' ~ current.materialized ~ '_default') -%}
        {%- endif -%}
        {%- for name in names -%}
            {%- for impl in [name, adapter.type() ~ '__' ~ name, 'default__' ~ name]
                if 'macro.api_trust.' ~ impl not in macros and context['api_trust'].get(impl) -%}
                {%- set macro = context['api_trust'][impl].macro -%}
                {%- do macros.append('macro.api_trust.' ~ impl) -%}
                {%- do pending.append({'text': '', 'macros': macro.depends_on.macros, 'nodes': [], 'materialized': none}) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- for node_id in current.nodes if node_id not in nodes -%}
            {%- set upstream = graph.nodes.get(node_id) -%}
            {%- if upstream and upstream.resource_type == 'model' and upstream.config.materialized in ('view', 'ephemeral') -%}
                {%- do nodes.append(node_id) -%}
                {%- do pending.append({'text': upstream.raw_code, 'macros': upstream.depends_on.macros,
                    'nodes': upstream.depends_on.nodes, 'materialized': upstream.config.materialized}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(nodes + macros | sort) }}
{%- endmacro %}

{# The code of one unique id of code_closure: a model's raw code, a macro's source. #}
{% macro code_of(unique_id, node) -%}
    {%- if unique_id == node.unique_id -%}
        {{ return(node.raw_code) }}
    {%- elif unique_id.startswith('macro.') -%}
        {{ return(context['api_trust'][unique_id.split('.')[-1]].macro.macro_sql) }}
    {%- else -%}
        {{ return(graph.nodes[unique_id].raw_code) }}
    {%- endif -%}
{%- endmacro %}

{#
    A SQL text expression: the fingerprint of what the current model's rows are made
    from besides its input rows, namely its code (code_closure: with the views it reads
    and the macros they call) and the vars it names in
    `meta[vars_key]` (hashed when compiled), then the rows of each reference relation
    in `meta[inputs_key]` (names of models or seeds, each with the condition on the rows
    that count, or none for every row, or a mapping of that condition, `rows`, and the
    `columns` that count), read when it runs. Read from the model's config,
    so that body and hooks agree. Day models name theirs in day_inputs and day_vars
    (stale_days), batch_files models in batch_inputs and batch_vars (batch_files_key).
#}
{% macro definition_fingerprint(inputs_key, vars_key) -%}
    {%- set meta = model.config.get('meta') or {} -%}
    {%- set definition = [] -%}
    {%- for unique_id in api_trust.code_closure(model) -%}
        {%- do definition.append(unique_id ~ '=' ~ api_trust.code_of(unique_id, model)) -%}
    {%- endfor -%}
    {%- for name in meta.get(vars_key, []) -%}
        {%- do definition.append(tojson(var(name))) -%}
    {%- endfor -%}
    '{{ local_md5(definition | join("|")) }}'
    {%- for name, rows in (meta.get(inputs_key) or {}).items() %} || '|' || {{
        "'stale input " ~ name ~ "'" if api_trust.is_built_by_an_older_model(name)
        else api_trust.relation_fingerprint(ref(name), rows.rows, rows.columns) if rows is mapping
        else api_trust.relation_fingerprint(ref(name), rows) }}{% endfor %}
{%- endmacro %}

{#
    Whether the table of model `name` lacks a column its yml documents: built by an older
    version of the model (an upgrade, and a build that selects a reader without it). Its
    fingerprint would name a column it lacks, so it counts as changed instead: the reader
    processes everything again, and again once the table is rebuilt. False for a seed, at
    parse time and for a table not built yet.
#}
{% macro is_built_by_an_older_model(name) -%}
    {%- set node = (graph.get('nodes') or {}).get('model.api_trust.' ~ name) if execute else none -%}
    {%- set relation = load_relation(ref(name)) if node else none -%}
    {%- if relation is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set built = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {{ return(node.columns.keys() | map('lower') | reject('in', built) | list | length > 0) }}
{%- endmacro %}

{#
    The days this model must rebuild: every day whose current fingerprint (facts,
    this model's code, its reference inputs) differs from the one it recorded,
    with that fingerprint (null for a day that no longer holds facts). A query. The
    model's definition is folded in by definition_fingerprint from its
    `meta.day_inputs` (with the condition on the rows that can change a past day)
    and `meta.day_vars`.
#}
{% macro stale_days() -%}
    select
        coalesce(current_days.called_on, recorded.called_on) as called_on,
        current_days.day_fingerprint
    from (
        select
            called_on,
            day_fingerprint || '|' || {{ api_trust.definition_fingerprint('day_inputs', 'day_vars') }}
                as day_fingerprint
        from {{ ref('int_call_days_fingerprinted') }}
    ) as current_days
    full outer join (
        select called_on, day_fingerprint
        from (
            select
                called_on,
                day_fingerprint,
                row_number() over (partition by called_on order by built_at desc) as recency
            from {{ ref('int_incremental_days_built') }}
            where model_name = '{{ this.identifier }}'
        ) as ranked
        where recency = 1 and day_fingerprint is not null
    ) as recorded
        on current_days.called_on = recorded.called_on
    where current_days.day_fingerprint is distinct from recorded.day_fingerprint
{%- endmacro %}

{#
    dbt's should_full_refresh (the model's `full_refresh` config, else --full-refresh),
    and also true for a day-incremental model whose table holds no day that is still
    current: after an edit of its code, of a macro it calls, of a var or a reference
    input it folds in, every day is stale. Rebuilding them all by deleting and inserting
    them wrote every row twice and deleted the old ones (fct_verifications at 10M rows:
    61.5-62.2 s after an edit, 25.6 s afresh); built afresh instead, the rows are the same
    (test_incremental). dbt calls this macro by name wherever it decides (is_incremental,
    the incremental materialization), so the project's takes the place of dbt's, as
    generate_schema_name does.
#}
{% macro should_full_refresh() -%}
    {%- set configured = config.get('full_refresh') -%}
    {%- if configured is not none -%}
        {#- a model configured `full_refresh: false` is never rebuilt afresh: dbt's meaning -#}
        {{ return(configured) }}
    {%- endif -%}
    {{ return(flags.FULL_REFRESH or api_trust.is_every_day_stale()) }}
{%- endmacro %}

{#
    Whether the current model is day-incremental (it records its days: post-hook
    record_days_built), has a table, and none of the days its facts hold is one it
    recorded with the current fingerprint (an empty facts table counts too). Asked
    several times while a model compiles and runs: answered once per render context.
#}
{% macro is_every_day_stale() -%}
    {%- set hooks = model.config.get('post-hook') or [] -%}
    {%- if not execute or model.config.materialized != 'incremental'
        or 'record_days_built' not in hooks | map(attribute='sql') | join(' ') -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set cache_key = 'api_trust_every_day_stale ' ~ this -%}
    {%- if cache_key not in context -%}
        {%- set stale = false -%}
        {%- if load_relation(this) is not none -%}
            {%- set counts = run_query(
                'select (select count(*) from ' ~ ref('int_call_days_fingerprinted') ~ ') as days, '
                ~ '(select count(*) from (' ~ api_trust.stale_days() ~ ') as stale '
                ~ 'where stale.day_fingerprint is not null) as stale_days') -%}
            {%- set stale = counts.rows[0][0] == counts.rows[0][1] -%}
        {%- endif -%}
        {%- do context.update({cache_key: stale}) -%}
    {%- endif -%}
    {{ return(context[cache_key]) }}
{%- endmacro %}

{# Post-hook of a day-incremental model: record the fingerprint of every day it just rebuilt. #}
{% macro record_days_built() -%}
    insert into {{ ref('int_incremental_days_built') }} (model_name, called_on, day_fingerprint, built_at)
    select '{{ this.identifier }}', called_on, day_fingerprint, cast('{{ run_started_at }}' as timestamp)
    from ({{ api_trust.stale_days() }}) as rebuilt
{%- endmacro %}

{# Pre-hook of a day-incremental model: remove the rows of the days it is about to rebuild.
   A model that syncs its columns runs it before its transaction (before_begin): DuckDB
   cannot commit a transaction that deletes rows of a table and then alters it. Safe: the
   days' fingerprints are recorded only when the model succeeds, so a model that fails
   after the delete rebuilds those days on the next run. #}
{% macro delete_stale_days(day_expression) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ day_expression }} in (select stale.called_on from ({{ api_trust.stale_days() }}) as stale)
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}

{# The filter a day-incremental model puts on its facts: only the days it rebuilds. #}
{% macro in_stale_days(day_expression) -%}
    {%- if is_incremental() -%}
        {{ day_expression }} in (select stale.called_on from ({{ api_trust.stale_days() }}) as stale)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#
    The verifications fct_verifications built before that span a stale day (a query of
    verification_id): they may have lost calls there. `stale` names a relation of the
    stale days (a CTE, or stale_days() in parentheses). A plain filter on the first and
    the last stale day comes first, so the range join meets only the verifications
    between them, not all: at 10M calls the join sorted 9.4M verifications, 1.0 of its
    1.5 CPU-seconds (0.5 with the filter).
#}
{% macro verifications_spanning_stale_days(stale) -%}
    select built.verification_id
    from {{ this }} as built
    inner join {{ stale }} as stale
        on stale.called_on between cast(built.first_called_at as date) and cast(built.last_called_at as date)
    where
        cast(built.first_called_at as date) <= (select max(bounds.called_on) from {{ stale }} as bounds)
        and cast(built.last_called_at as date) >= (select min(bounds.called_on) from {{ stale }} as bounds)
{%- endmacro %}

{#
    Post-hook of fct_verifications: a verification built before that spans a stale
    day and has no API call left (its batch left the landing zone) is removed. The
    ones that still have calls were rebuilt by delete+insert.
#}
{% macro delete_verifications_without_calls() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where verification_id in (
            -- the few spanning a stale day, each looked up in the facts (an anti-join driven
            -- by them, not a NOT IN over every verification)
            select spanning.verification_id
            from ({{ api_trust.verifications_spanning_stale_days('(' ~ api_trust.stale_days() ~ ')') }}) as spanning
            where not exists (
                select 1
                from {{ ref('fct_api_calls') }} as api_calls
                where
                    api_calls.verification_id = spanning.verification_id
                    and api_calls.is_api_traffic is not false
            )
        )
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}
