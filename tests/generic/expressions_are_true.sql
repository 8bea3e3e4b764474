{#
    Every SQL expression is true on every row (null counts as a failure): the
    row-level invariants of a model (bounds, identities, orderings) in one scan and
    one test node, where a test a rule was one node each (a small build spends most
    of its time on per-node overhead: 112 such nodes over 54 models). Each failing
    row says which expressions failed (number in the list and text), then shows the row.
#}
{% test expressions_are_true(model, expressions) %}

select
    concat_ws(
        '; '
        {%- for expression in expressions %},
        case
            when not coalesce(({{ expression }}), false)
                then '{{ loop.index }}: {{ (expression | string).split() | join(" ") | replace("'", "''") }}'
        end
        {%- endfor %}
    ) as failed_expressions,
    *
from {{ model }}
where
    {% for expression in expressions -%}
        not coalesce(({{ expression }}), false){{ " or" if not loop.last }}
    {% endfor %}

{% endtest %}
