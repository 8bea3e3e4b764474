{#
    Fails for each combination of the given columns that occurs more than once:
    the grain of a model, stated and checked.
    `latest_of`: a column that stamps the run that wrote a row (such as
    int_api_calls_validated.validated_at); only the rows of the latest stamp are
    checked, so a run checks what it wrote instead of the whole history. Sound
    only where the combination includes a column whose rows all share one stamp
    (a batch is validated whole, in one run): a repeat then lies within rows of
    one stamp, all of them checked when that stamp was the latest. A full
    refresh gives every row the same stamp, so it checks them all. Rows without
    a stamp are checked only while no row has one. What it gives up: a repeat is
    reported until a later run writes rows, not for as long as it stays (a
    test failure keeps the rows); at 100M rows it checks a new day's 2M rows in
    0.3-0.4 s instead of every row in 17-18 s.
#}
{% test unique_combination_of_columns(model, combination, latest_of=none) %}

select
    {{ combination | join(', ') }},
    count(*) as occurrences
from {{ model }}
{%- if latest_of %}
where {{ latest_of }} is not distinct from (select max(stamped.{{ latest_of }}) from {{ model }} as stamped)
{%- endif %}
group by {{ combination | join(', ') }}
having count(*) > 1

{% endtest %}
