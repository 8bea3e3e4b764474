-- Failures per API and error reason, most first: "why does each API fail?".
-- The mart agg_error_reasons_by_api holds the same counts with shares and ranks.

with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
),

failed_calls as (
    select * from api_calls
    where not is_success
),

failure_reasons as (
    select
        api_name,
        error_reason,
        failure_class,
        count(*) as failures
    from failed_calls
    group by
        api_name,
        error_reason,
        failure_class
)

select * from failure_reasons
order by
    failures desc,
    api_name asc,
    error_reason asc
