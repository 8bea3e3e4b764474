{#
    Fails on every row where the SQL expression is not true (null counts as a
    failure). Use for row-level invariants: bounds, identities, orderings.
#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
