{#
    Fails for each combination of the given columns that occurs more than once:
    the grain of a model, stated and checked.
#}
{% test unique_combination_of_columns(model, combination) %}

select
    {{ combination | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1

{% endtest %}
