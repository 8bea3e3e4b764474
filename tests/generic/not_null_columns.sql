{#
    None of the given columns is null: one scan of the model for all of them, where
    dbt's built-in not_null is one test node a column (a small build spends most of
    its time on per-node overhead: 227 such nodes took about 15 s of every build).
    Each failing row says which of its columns are null.
#}
{% test not_null_columns(model, columns) %}

select
    concat_ws(
        ', '
        {%- for column in columns %},
        case when {{ adapter.quote(column) }} is null then '{{ column }}' end
        {%- endfor %}
    ) as null_columns
from {{ model }}
where
    {% for column in columns -%}
        {{ adapter.quote(column) }} is null{{ " or" if not loop.last }}
    {% endfor %}

{% endtest %}
