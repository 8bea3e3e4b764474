{#
    Every value of a column is a canonical value of its dimension in seed
    value_aliases, or one of `also` (`unknown`, what a log without the column
    gets). The vocabulary lives in the seed alone: a team with its own regions
    adds a row per value there (`region,north,North`) and the validation, which
    reads the same seed, keeps those calls as facts; a list written into this
    test as well would fail that build. Fails once per value outside it, with
    its rows.
#}
{% test canonical_values(model, column_name, dimension, also=[]) %}

select
    {{ column_name }} as value,
    count(*) as rows_with_value
from {{ model }}
where
    {{ column_name }} is not null
    {%- if also %}
    and {{ column_name }} not in ({% for value in also %}'{{ value }}'{{ ", " if not loop.last }}{% endfor %})
    {%- endif %}
    and {{ column_name }} not in (
        select aliases.canonical_value
        from {{ ref('value_aliases') }} as aliases
        where aliases.dimension = '{{ dimension }}'
    )
group by {{ column_name }}

{% endtest %}
