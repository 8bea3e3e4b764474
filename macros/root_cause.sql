{#
    The root-cause layer's vocabulary: which dimensions a segment is made of,
    how a segment is written, and when two segments overlap or nest. The
    method itself is doc rca_method (models/marts/root_cause/_docs_root_cause.md);
    product text (recommendations, owners) is data: seed rca_playbook.
#}

{#
    vars.analysis_dimensions.extra, each name checked: the models write an extra
    dimension as a column name and as SQL text, so a name that is not a plain
    identifier (vars.dimension_name_pattern, the rule `make dimensions` also applies)
    stops compilation with a message that names it, not with an SQL error deep in a
    model. A configuration error, not a record's: no delivered value reaches here.
    `dims`: a list to check instead of the var's (same shape), as `dbt run-operation
    rca_dimensions --args '{dims: ...}'` checks one before it is written. Its `fields`
    (the field a dimension reads, when not its own name) are checked too, and returned
    instead of the list when `fields` is true (extra_dimension_field).
#}
{% macro listed_extra_dimensions(dims=none, fields=false) -%}
    {%- set given = dims if dims is not none else var('analysis_dimensions') -%}
    {%- set extras = given['extra'] -%}
    {%- set pattern = var('dimension_name_pattern') -%}
    {%- for dim in extras -%}
        {%- if dim is not string or not modules.re.fullmatch(pattern, dim) -%}
            {{ exceptions.raise_compiler_error(
                "vars.analysis_dimensions.extra: " ~ dim ~ " is not a plain identifier (" ~ pattern
                ~ "); name it so and give its field in vars.analysis_dimensions.fields "
                ~ "({tenant_id: tenant.id}), or leave it out of the list") }}
        {%- endif -%}
    {%- endfor -%}
    {%- set read_from = given.get('fields') or {} -%}
    {%- if read_from is not mapping -%}
        {{ exceptions.raise_compiler_error(
            "vars.analysis_dimensions.fields must map a dimension to its field "
            ~ "({tenant_id: tenant.id}), not " ~ read_from) }}
    {%- endif -%}
    {%- for dim, field in read_from.items() -%}
        {%- if dim not in extras or field is not string
            or not modules.re.fullmatch(var('dimension_field_pattern'), field) -%}
            {{ exceptions.raise_compiler_error(
                "vars.analysis_dimensions.fields: " ~ dim ~ ": " ~ field ~ " is not usable: a key "
                ~ "must be a dimension listed in extra, its value a field name without quotes "
                ~ "or backslashes") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(read_from if fields else extras) }}
{%- endmacro %}

{#
    The delivered field (a key of extra_fields) an extra dimension reads: its own name,
    unless vars.analysis_dimensions.fields names another (`tenant_id: tenant.id`: the
    models write a dimension as a column name, and an OpenTelemetry attribute's name
    has dots). Checked by listed_extra_dimensions.
#}
{% macro extra_dimension_field(dimension) -%}
    {{ return(api_trust.listed_extra_dimensions(fields=true).get(dimension, dimension)) }}
{%- endmacro %}

{#
    Every analysis dimension, in segment order: api_name first, then
    vars.analysis_dimensions core (fact columns) and extra (delivered fields,
    fct_api_calls.extra_fields; long form in fct_call_dimensions). Adding a dimension is one line there.
#}
{% macro rca_dimensions(dims=none) -%}
    {%- set dims = dims if dims is not none else var('analysis_dimensions') -%}
    {%- set out = ['api_name'] -%}
    {%- for dim in dims['core'] + api_trust.listed_extra_dimensions(dims) -%}
        {%- if dim not in out -%}{%- do out.append(dim) -%}{%- endif -%}
    {%- endfor -%}
    {%- set facts = (graph.get('nodes') or {}).get('model.api_trust.fct_api_calls') if execute else none -%}
    {%- for dim in dims['core'] if facts and dim not in facts.columns -%}
        {{ exceptions.raise_compiler_error(
            "vars.analysis_dimensions.core: " ~ dim ~ " is not a column of fct_api_calls; a field "
            ~ "delivered in the logs beside the contract goes in extra (make dimensions lists them)") }}
    {%- endfor -%}
    {%- if out | length == 1 -%}
        {{ exceptions.raise_compiler_error(
            "vars.analysis_dimensions lists no dimension besides api_name: the root cause and "
            ~ "agg_failure_rate_by_dimension slice by at least one; list a fact column in core "
            ~ "(region, client_type, ...) or a delivered field in extra") }}
    {%- endif -%}
    {{ return(out) }}
{%- endmacro %}

{#
    The rows of `relation` (a root-cause table) that `condition` keeps, where `dimension`
    is an analysis dimension. Where vars.analysis_dimensions leaves it out (logs without
    it), no row, with the column added as null text so that the reader's SQL still binds:
    the marts about one dimension (versions, document types) are then empty.
#}
{% macro rca_rows_of_dimension(relation, dimension, condition) -%}
    {%- if dimension in api_trust.rca_dimensions() -%}
        select * from {{ relation }}
        where {{ condition }}
    {%- else -%}
        select
            *,
            cast(null as string) as {{ dimension }}
        from {{ relation }}
        where false
    {%- endif -%}
{%- endmacro %}

{# The extra (delivered, long-form) dimensions that are not fact columns. #}
{% macro rca_extra_dimensions() -%}
    {%- set core = var('analysis_dimensions')['core'] -%}
    {{ return(api_trust.listed_extra_dimensions() | reject('in', core + ['api_name']) | list) }}
{%- endmacro %}

{#
    A leaf's key per analysis dimension: the fact column of `calls_alias`, or for an
    extra dimension its value in the call's extra fields (extra_dimension_value, as
    fct_call_dimensions has it), as text, `unknown` null. A list in the order of
    rca_dimensions(). Inline, not joined: joining the long form back to every call was
    four fifths of the day leaves' time at 10M rows (24 s against 4 s).
#}
{% macro rca_leaf_keys(calls_alias) -%}
    {%- set extras = api_trust.rca_extra_dimensions() -%}
    {%- set keys = [] -%}
    {%- for dim in api_trust.rca_dimensions() -%}
        {%- if dim in extras -%}
            {%- set column = api_trust.extra_dimension_value(calls_alias ~ '.extra_fields', dim) -%}
        {%- else -%}
            {%- set column = calls_alias ~ '.' ~ dim -%}
        {%- endif -%}
        {%- do keys.append("nullif(cast(" ~ column ~ " as string), 'unknown')") -%}
    {%- endfor -%}
    {{ return(keys) }}
{%- endmacro %}

{#
    The combinations searched: every set of 1 to var('rca_max_depth')
    dimensions, except those naming a dimension of var('rca_api_scoped_dimensions')
    (version labels belong to their API) without api_name. A list of lists.
#}
{% macro rca_grouping_sets() -%}
    {%- set scoped = var('rca_api_scoped_dimensions', []) -%}
    {%- set out = [] -%}
    {%- for combo in api_trust.rca_combinations(api_trust.rca_dimensions(), var('rca_max_depth', 3)) -%}
        {%- if 'api_name' in combo or combo | select('in', scoped) | list | length == 0 -%}
            {%- do out.append(combo) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{# Every combination of 1 to `max_size` of `items`, in item order, shortest first (a list of lists). #}
{% macro rca_combinations(items, max_size) -%}
    {%- set ns = namespace(level=[[]], out=[]) -%}
    {%- for size in range(max_size) -%}
        {%- set longer = [] -%}
        {%- for combo in ns.level -%}
            {%- set start = (items.index(combo[-1]) + 1) if combo else 0 -%}
            {%- for item in items[start:] -%}
                {%- do longer.append(combo + [item]) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set ns.level = longer -%}
        {%- set ns.out = ns.out + longer -%}
    {%- endfor -%}
    {{ return(ns.out) }}
{%- endmacro %}

{#
    A segment as text, `dim=value, dim=value` in dimension order, from the
    dimension columns of `relation` (null = any value). The same text is the
    key findings are tracked and matched by.
#}
{% macro rca_segment(relation=none, dims=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {%- set dims = api_trust.rca_dimensions() if dims is none else dims -%}
    {%- if not dims -%}
        cast(null as string)
    {%- else -%}
    concat_ws(', '
    {%- for dim in dims %},
        case when {{ prefix }}{{ dim }} is not null then '{{ dim }}=' || {{ prefix }}{{ dim }} end
    {%- endfor %}
    )
    {%- endif -%}
{%- endmacro %}

{# Number of dimensions a segment names. #}
{% macro rca_depth(relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    (
        {%- for dim in api_trust.rca_dimensions() %}
            case when {{ prefix }}{{ dim }} is not null then 1 else 0 end{{ ' +' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#
    True when `a` and `b` are the same finding: its type, segment and metric, and, when
    a start column is named (`b`'s is `a`'s unless named too), the same start (null-safe:
    a finding over the whole period has none). Without one, the same tested segment,
    whatever its start.
#}
{% macro rca_same_finding(a, b, a_started=none, b_started=none) -%}
    {{ a }}.finding_type = {{ b }}.finding_type
    and {{ a }}.segment = {{ b }}.segment
    and {{ a }}.metric = {{ b }}.metric
    {%- if a_started %}
    and {{ a }}.{{ a_started }} is not distinct from {{ b }}.{{ b_started or a_started }}
    {%- endif %}
{%- endmacro %}

{# True when segments `a` and `b` can hold the same call: no dimension with two different values. #}
{% macro rca_overlaps(a, b) -%}
    (
        {%- for dim in api_trust.rca_dimensions() %}
            ({{ a }}.{{ dim }} is null or {{ b }}.{{ dim }} is null or {{ a }}.{{ dim }} = {{ b }}.{{ dim }})
            {{- ' and' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{# True when segment `outer` holds every call of `inner` (outer names a subset of inner's values). #}
{% macro rca_covers(outer, inner) -%}
    (
        {%- for dim in api_trust.rca_dimensions() %}
            ({{ outer }}.{{ dim }} is null or {{ outer }}.{{ dim }} = {{ inner }}.{{ dim }})
            {{- ' and' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#
    Equality keys that find a segment's leaves without comparing it to every leaf: one
    predicate per branch of a UNION ALL, each segment in exactly one branch (by whether
    it names an API and by the first other dimension it names), so a join on
    branch and rca_covers is an equi-join on one or two columns plus a check. A cross-API
    segment joined on `api_name is null` alone compared each of them with every leaf:
    90 s of two models at 10M rows. The other dimensions are taken with the most values
    first (rca_dimensions_most_values_first), so a segment joins on its most selective one:
    in the var's order `region` came first, and a cross-API segment naming a region and a
    client met a quarter of all leaves (94M joined rows at 10M calls) instead of a client's.
    Any order puts each segment in exactly one branch: the order changes no result.
    With `heavy` (rca_heaviest_dimension, which is then the first of the others) and
    `naming_heavy`, only the branches of the segments that name it (true) or do not
    (false): leaves rolled up over it (rca_light_leaves) need no branch on it, and the
    full leaves that only such segments read need no other.
#}
{% macro rca_leaf_join_keys(segment, leaf, heavy=none, naming_heavy=none, counts=none) -%}
    {%- set others = api_trust.rca_dimensions_most_values_first(counts)[1:] -%}
    {%- if heavy is not none and others[0] != heavy -%}
        {{ exceptions.raise_compiler_error("rca_leaf_join_keys: " ~ heavy ~ " is not the dimension with the most values") }}
    {%- endif -%}
    {%- set branches = [] -%}
    {%- set none_named = [] -%}
    {%- for dim in others -%}{%- do none_named.append(segment ~ '.' ~ dim ~ ' is null') -%}{%- endfor -%}
    {%- do branches.append((none, segment ~ '.api_name = ' ~ leaf ~ '.api_name and ' ~ none_named | join(' and '))) -%}
    {%- for dim in others -%}
        {%- set earlier = [] -%}
        {%- for before in others[:loop.index0] -%}{%- do earlier.append(' and ' ~ segment ~ '.' ~ before ~ ' is null') -%}{%- endfor -%}
        {%- set on_dim = segment ~ '.' ~ dim ~ ' = ' ~ leaf ~ '.' ~ dim ~ earlier | join('') -%}
        {%- do branches.append((dim, segment ~ '.api_name = ' ~ leaf ~ '.api_name and ' ~ on_dim)) -%}
        {%- do branches.append((dim, segment ~ '.api_name is null and ' ~ on_dim)) -%}
    {%- endfor -%}
    {%- set kept = [] -%}
    {%- for first_named, predicate in branches -%}
        {%- if heavy is none or naming_heavy is none or (first_named == heavy) == naming_heavy -%}
            {%- do kept.append(predicate) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(kept) }}
{%- endmacro %}

{#
    Every branch of a segments-to-leaves match over several leaf sources, flat: a list of
    (source, keys), one per source of `sources` and branch of rca_leaf_join_keys, for a
    UNION ALL of one join each. A source is a tuple whose first item is the relation and
    whose last is `naming_heavy` (rca_leaf_join_keys); items between are the caller's.
#}
{% macro rca_leaf_join_branches(segment, sources, heavy, counts) -%}
    {%- set out = [] -%}
    {%- for source in sources -%}
        {%- for keys in api_trust.rca_leaf_join_keys(segment, source[0], heavy, source[-1], counts) -%}
            {%- do out.append((source, keys)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#
    Each analysis dimension's number of distinct values in the leaf cube
    (int_rca_leaves_summed), as {dimension: count}: one small query at run time. Empty at
    parse time, in unit tests and before the cube exists. A model that calls it (or a macro
    below) declares `-- depends_on: {{ ref('int_rca_leaves_summed') }}`. Speed choices
    only read it: no result depends on it.
#}
{% macro rca_dimension_value_counts() -%}
    {%- if not execute or model.resource_type != 'model' -%}{{ return({}) }}{%- endif -%}
    {%- set summed = load_relation(ref('int_rca_leaves_summed')) -%}
    {%- if summed is none -%}{{ return({}) }}{%- endif -%}
    {%- set dims = api_trust.rca_dimensions() -%}
    {%- set counts = [] -%}
    {%- for dim in dims -%}{%- do counts.append('count(distinct ' ~ dim ~ ')') -%}{%- endfor -%}
    {%- set row = run_query('select ' ~ counts | join(', ') ~ ' from ' ~ summed).rows[0] -%}
    {%- set out = {} -%}
    {%- for dim in dims -%}{%- do out.update({dim: row[loop.index0] or 0}) -%}{%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#
    The dimension with the most values in the leaf cube (rca_dimension_value_counts), of
    `among` (every analysis dimension when none), if it has at least 50; none otherwise and
    before the cube exists. Speed only: sums over the segments that do not name it read
    the leaves rolled up over it (rca_light_leaves), far fewer when it has many values; below
    50 values a roll-up would cost about what it saves.
#}
{% macro rca_heaviest_dimension(among=none, counts=none) -%}
    {%- set counts = counts if counts is not none else api_trust.rca_dimension_value_counts() -%}
    {%- set ranked = api_trust.rca_most_values_first(among if among is not none else api_trust.rca_dimensions(), counts) -%}
    {{ return(ranked[0] if ranked and counts.get(ranked[0], 0) >= 50 else none) }}
{%- endmacro %}

{#
    The rows of `relation` (leaves) rolled up over dimension `heavy`, which is null here:
    for a segment that does not name `heavy` they hold the same calls as the leaves, in
    far fewer rows. Grouped by the other dimensions and `keys`; each of `measures` is a
    column summed, or a pair (expression summed, name).
#}
{% macro rca_light_leaves(relation, heavy, measures, keys=[]) -%}
    {%- set grouped = api_trust.rca_dimensions() | reject('equalto', heavy) | list + keys -%}
    select
        {%- for dim in api_trust.rca_dimensions() %}
            {{ 'cast(null as string) as ' ~ dim if dim == heavy else dim }},
        {%- endfor %}
        {%- for key in keys %}
            {{ key }},
        {%- endfor %}
        {%- for measure in measures %}
            {%- set expr, name = (measure, measure) if measure is string else measure %}
            sum({{ expr }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    group by {{ grouped | join(', ') }}
{%- endmacro %}

{#
    Sums over GROUPING SETS: `sets` (lists of dimensions of `dims`), each led by `keys`.
    The sets without dimension `heavy` are summed from `light` (the same rows rolled up over
    it: rca_light_leaves), the others from `full`; `heavy` none: all from `full`. One column
    per dimension of `dims` and is_any_<dim>, 1 where a row's set does not group it.
    `measures`: (name, expression over light, expression over full); `having`: a condition
    on the sums of a set's row.
#}
{% macro rca_sums_by_sets(sets, heavy, light, full, dims, keys, measures, having=none) -%}
    {%- set ns = namespace(branches=0) -%}
    {%- for part in ['light', 'heavy'] %}
        {%- set from_light = part == 'light' and heavy is not none -%}
        {%- set part_sets = [] -%}
        {%- for combo in sets -%}
            {%- if (heavy is not none and heavy in combo) == (part == 'heavy') -%}{%- do part_sets.append(combo) -%}{%- endif -%}
        {%- endfor %}
        {%- if part_sets %}
            {%- set grouped_dims = [] -%}
            {%- for combo in part_sets -%}{%- for dim in combo -%}
                {%- if dim not in grouped_dims -%}{%- do grouped_dims.append(dim) -%}{%- endif -%}
            {%- endfor -%}{%- endfor %}
            {%- if ns.branches > 0 %}
            union all
            {%- endif %}
            {%- set ns.branches = ns.branches + 1 %}
            select
                {%- for key in keys %}
                    {{ key }},
                {%- endfor %}
                {%- for dim in dims %}
                    {%- if dim not in grouped_dims %}
                        cast(null as string) as {{ dim }},
                        1 as is_any_{{ dim }},
                    {%- else %}
                        {{ dim }},
                        grouping({{ dim }}) as is_any_{{ dim }},
                    {%- endif %}
                {%- endfor %}
                {%- for name, light_expr, full_expr in measures %}
                    sum({{ light_expr if from_light else full_expr }}) as {{ name }}{{ ',' if not loop.last }}
                {%- endfor %}
            from {{ light if from_light else full }}
            group by grouping sets (  -- noqa: PRS
                {%- for combo in part_sets %}
                    ({{ (keys + combo) | join(', ') }}){{ ',' if not loop.last }}
                {%- endfor %}
            )
            {%- if having %}
            having {{ having }}
            {%- endif %}
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#
    rca_dimensions() with api_name first and the others by their number of distinct values
    (rca_dimension_value_counts), most first; in the var's order when there are no counts.
#}
{% macro rca_dimensions_most_values_first(counts=none) -%}
    {{ return(['api_name'] + api_trust.rca_most_values_first(api_trust.rca_dimensions()[1:], counts)) }}
{%- endmacro %}

{#
    Dimensions `dims` by their number of distinct values in the leaf cube (`counts`, else
    rca_dimension_value_counts), most first; ties, and every dimension without counts, in
    the order given. The one ranking behind rca_dimensions_most_values_first and
    rca_heaviest_dimension, so the heavy dimension is always the first of the others.
#}
{% macro rca_most_values_first(dims, counts=none) -%}
    {%- set counts = counts if counts is not none else api_trust.rca_dimension_value_counts() -%}
    {%- set ranked = [] -%}
    {%- for dim in dims -%}{%- do ranked.append((-counts.get(dim, 0), loop.index0, dim)) -%}{%- endfor -%}
    {%- set out = [] -%}
    {%- for entry in ranked | sort -%}{%- do out.append(entry[2]) -%}{%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{# The value a segment gives dimension `dimension_expr` (a column holding a dimension name). #}
{% macro rca_value_of(relation, dimension_expr) -%}
    case {{ dimension_expr }}
        {%- for dim in api_trust.rca_dimensions() %}
            when '{{ dim }}' then {{ relation }}.{{ dim }}
        {%- endfor %}
    end
{%- endmacro %}

{# Plain-text number formats for evidence sentences (portable casts and rounding). #}
{% macro fmt_pct(expr, digits=1) -%}
    cast(round(100 * ({{ expr }}), {{ digits }}) as string) || '%'
{%- endmacro %}

{# A number rounded to a whole number, as text. #}
{% macro fmt_int(expr) -%}
    cast(cast(round({{ expr }}) as bigint) as string)
{%- endmacro %}

{# A ratio as text with two decimals and an x (2.16x). #}
{% macro fmt_x(expr) -%}
    cast(round({{ expr }}, 2) as string) || 'x'
{%- endmacro %}

{# A timestamp as text to the minute (2026-10-29 10:00). #}
{% macro fmt_minute(expr) -%}
    substr(cast({{ expr }} as string), 1, 16)
{%- endmacro %}

{# Concatenate the values of a group into one string, in a given order. #}
{% macro ordered_string_agg(expr, separator, order_by) -%}
    {{ return(adapter.dispatch('ordered_string_agg', 'api_trust')(expr, separator, order_by)) }}
{%- endmacro %}

{% macro default__ordered_string_agg(expr, separator, order_by) -%}
    string_agg({{ expr }}, '{{ separator }}' order by {{ order_by }})
{%- endmacro %}

{% macro spark__ordered_string_agg(expr, separator, order_by) -%}
    array_join(transform(array_sort(collect_list(struct({{ order_by }} as k, {{ expr }} as v))), x -> x.v), '{{ separator }}')
{%- endmacro %}

{#
    The segment two overlapping segments `a` and `b` make together (every value
    either names), as text: the key to look their intersection up by.
#}
{% macro rca_union_segment(a, b) -%}
    concat_ws(', '
    {%- for dim in api_trust.rca_dimensions() %},
        case when coalesce({{ a }}.{{ dim }}, {{ b }}.{{ dim }}) is not null
            then '{{ dim }}=' || coalesce({{ a }}.{{ dim }}, {{ b }}.{{ dim }}) end
    {%- endfor %}
    )
{%- endmacro %}


{#
    A key that orders version labels numerically ('v2' < 'v10' < 'v10.1'):
    the tie-breaker for versions first seen on the same day (before the data
    began, as far as the data can tell). Engine-specific (lists), hence dispatched.
#}
{% macro version_sort_key(expr) -%}
    {{ return(adapter.dispatch('version_sort_key', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__version_sort_key(expr) -%}
    list_transform(string_split(regexp_replace({{ expr }}, '^[^0-9]*', ''), '.'), lambda x: try_cast(x as integer))
{%- endmacro %}

{% macro spark__version_sort_key(expr) -%}
    transform(split(regexp_replace({{ expr }}, '^[^0-9]*', ''), '\\.'), x -> cast(x as int))
{%- endmacro %}

{#
    The value segment text `segment_expr` gives `dimension` (null when it names
    none): the inverse of rca_segment, so findings of every producer, which
    share only the text, can be matched to calls. Values never hold ', '.
#}
{% macro rca_segment_value(segment_expr, dimension) -%}
    nullif(regexp_extract({{ segment_expr }}, '(^|, ){{ dimension }}=([^,]*)', 2), '')
{%- endmacro %}

{# Every dimension column of a segment text, parsed (a select-list fragment). #}
{% macro rca_segment_columns(segment_expr, skip=[]) -%}
    {%- for dim in api_trust.rca_dimensions() | reject('in', skip) %}
        {{ api_trust.rca_segment_value(segment_expr, dim) }} as {{ dim }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#
    The leaf cube's ENUM columns (macro rca_value_types), as {column: type}: read from the
    cube when a model runs; empty at parse time, in unit tests, before the cube exists and
    on engines without ENUMs. A model that calls it reads the cube (a ref or depends_on).
#}
{% macro rca_cube_value_types() -%}
    {%- if not execute or model.resource_type != 'model' -%}{{ return({}) }}{%- endif -%}
    {%- set cube = load_relation(ref('int_rca_leaves_counted')) -%}
    {%- if cube is none -%}{{ return({}) }}{%- endif -%}
    {%- set out = {} -%}
    {%- for col in adapter.get_columns_in_relation(cube) if col.dtype.upper().startswith('ENUM') -%}
        {%- do out.update({col.name | lower: col.dtype}) -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#
    Every dimension column of `parsed` (a relation with a segment's columns, as
    rca_segment_columns gives them) typed as the leaf cube's (`types`:
    rca_cube_value_types), for a join to the cube that then compares ENUMs instead of
    casting each leaf's value to text; and `is_in_cube`: every value the segment names is
    one of the cube's. A value outside the cube would be null once typed, and null means
    "any value" in rca_covers: keep `is_in_cube` segments only in such a join (a segment
    naming another value matches no leaf anyway).
#}
{% macro rca_typed_dimension_columns(parsed, types) -%}
    {%- set in_cube = [] -%}
    {%- for dim in api_trust.rca_dimensions() %}
        {%- set value = parsed ~ '.' ~ dim %}
        {%- if dim in types %}
            {%- do in_cube.append('(' ~ value ~ ' is null or try_cast(' ~ value ~ ' as ' ~ types[dim] ~ ') is not null)') %}
        try_cast({{ value }} as {{ types[dim] }}) as {{ dim }},
        {%- else %}
        {{ value }} as {{ dim }},
        {%- endif %}
    {%- endfor %}
        {{ in_cube | join(' and ') if in_cube else 'true' }} as is_in_cube
{%- endmacro %}

{#
    The values segment `a` names and segment `b` does not, as segment text
    (with `also_b`, plus those `b` names and `a` does not; `skip`: leave out
    a's value of that dimension; `only`: keep a's value of that dimension
    alone): the pieces used to estimate how much of `a`
    lies in `b` when their joint segment is deeper than the cube,
    P(b's own values | a's own values), conditioning on fewer of a's values
    when needed.
#}
{% macro rca_difference_segment(a, b, also_b=false, skip=none, only=none) -%}
    concat_ws(', '
    {%- for dim in api_trust.rca_dimensions() %},
        case
            when false then cast(null as string)
            {%- if dim != skip and (only is none or dim == only) %}
                when {{ a }}.{{ dim }} is not null and {{ b }}.{{ dim }} is null then '{{ dim }}=' || {{ a }}.{{ dim }}
            {%- endif %}
            {%- if also_b %}
                when {{ b }}.{{ dim }} is not null and {{ a }}.{{ dim }} is null then '{{ dim }}=' || {{ b }}.{{ dim }}
            {%- endif %}
        end
    {%- endfor %}
    )
{%- endmacro %}

{# Every column of `relation` but `columns` (engine syntax differs, hence dispatched). #}
{% macro star_except(relation, columns) -%}
    {{ return(adapter.dispatch('star_except', 'api_trust')(relation, columns)) }}
{%- endmacro %}

{% macro default__star_except(relation, columns) -%}
    {{ relation }}.* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(relation, columns) -%}
    {#- Spark 3.5 has no `* except`: a quoted regular expression of the other names, which
        profiles.yml's spark.sql.parser.quotedRegexColumnNames turns into a column list -#}
    {{ relation }}.`(?!({{ columns | join('|') }})$).+`
{%- endmacro %}

{#
    Speed only: the SQL type each text column of the leaf cube is stored as, a dict from
    column name to type; a column left out stays text. On DuckDB a column with at most
    10,000 values becomes an ENUM of its values in text order (so it sorts, compares and
    prints as the text does): every root-cause statistic groups and joins the cube by
    these columns, and DuckDB groups, joins and writes ENUMs like small integers (measured
    in benchmarks/HISTORY.md, "The cube's text columns as ENUMs"). Past 10,000 values the
    type's text would bloat the compiled SQL (a column of client ids, say), so that column stays text.
    The values come from `values_sql` (a query with every value the cube will hold, in
    columns named as `columns`), read once when the model runs; other engines keep text
    (default__rca_value_types).
#}
{% macro rca_value_types(values_sql, columns) -%}
    {{ return(adapter.dispatch('rca_value_types', 'api_trust')(values_sql, columns)) }}
{%- endmacro %}

{% macro default__rca_value_types(values_sql, columns) -%}
    {{ return({}) }}
{%- endmacro %}

{% macro duckdb__rca_value_types(values_sql, columns) -%}
    {%- if not execute or model.resource_type != 'model' -%}{{ return({}) }}{%- endif -%}
    {%- set limit = 10000 -%}
    {%- set listed = [] -%}
    {%- for column in columns -%}
        {#- the type's text: each distinct value (null left out) as a quoted literal, in text
            order, or null past the limit. Built by DuckDB (run_query returns no lists), from
            the distinct values first: one list of every row's value took 3 s at 10M calls -#}
        {%- do listed.append(
            "(select case when count(*) <= " ~ limit ~ " then 'enum(' || string_agg('''' || replace(v, '''', '''''')"
            ~ " || '''', ', ' order by v) || ')' end from (select distinct " ~ column ~ " as v from cube_values"
            ~ " where " ~ column ~ " is not null) as distinct_values having count(*) > 0)") -%}
    {%- endfor -%}
    {%- set row = run_query(
        'with cube_values as (' ~ values_sql ~ ') select ' ~ listed | join(', ')
    ).rows[0] -%}
    {%- set types = {} -%}
    {%- for column in columns -%}
        {%- if row[loop.index0] is not none -%}{%- do types.update({column: row[loop.index0]}) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(types) }}
{%- endmacro %}

{# A cube column cast to its type from rca_value_types, or as it is when it has none. #}
{% macro rca_as_value_type(column, types) -%}
    {%- if column in types -%}cast({{ column }} as {{ types[column] }}){%- else -%}{{ column }}{%- endif -%}
{%- endmacro %}
