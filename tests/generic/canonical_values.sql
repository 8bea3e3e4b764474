{#
    The values of a column that are not a canonical value of its dimension in
    seed value_aliases, nor one of `also` (`unknown`, what a log without the
    column gets), one row each with its rows. The validation keeps a team's own
    regions, client and document types as delivered; on the facts this test
    warns, naming them, so that a team can merge their spellings with a row per
    spelling in the seed (`region,north,North`), which the validation reads too.
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
