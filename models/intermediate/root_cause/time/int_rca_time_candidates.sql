{#
    STUB (zero rows, the agreed shape): the time side's candidate findings
    (incidents, traffic drops, SLO alerts) arrive here from the time11 branch,
    which replaces this file. Columns and order are the interface every
    producer of candidate findings keeps (doc rca_candidate).
#}

with

final as (
    select
        cast(null as varchar) as finding_type,
        cast(null as varchar) as api_name,
        cast(null as varchar) as segment,
        cast(null as timestamp) as started_at,
        cast(null as timestamp) as ended_at,
        cast(null as varchar) as metric,
        cast(null as double) as calls,
        cast(null as double) as observed,
        cast(null as double) as expected,
        cast(null as double) as excess_failures,
        cast(null as double) as excess_slow_calls,
        cast(null as double) as lift,
        cast(null as double) as lift_lower,
        cast(null as double) as p_value,
        cast(null as varchar) as error_reason,
        cast(null as varchar) as failure_class,
        cast(null as varchar) as evidence
    where false
)

select * from final
