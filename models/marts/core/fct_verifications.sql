{#
    One row per end-user verification: its attempts, whether the first one
    passed, whether any did, and how long the user waited. Conversion is
    measured here, not on calls: retries make call-level failure look worse
    than what users finally get.
#}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

ordered as (
    select
        *,
        row_number() over (
            partition by verification_id
            order by called_at, attempt_no, request_id
        ) as attempt_order,
        min(called_at) over (partition by verification_id) as verification_started_at
    from calls
),

first_attempts as (
    select * from ordered
    where attempt_order = 1
),

rolled_up as (
    select
        verification_id,
        count(*) as attempts,
        sum(case when is_success then 1 else 0 end) as successful_attempts,
        max(case when is_success then 1 else 0 end) = 1 as eventually_passed,
        min(called_at) as first_called_at,
        max(called_at) as last_called_at,
        -- the user waits until the first successful answer arrives: its start plus its latency
        min(case when is_success then
                {{ api_trust.seconds_between('verification_started_at', 'called_at') }}
                -- a log without latency (access logs): until the successful call started
                + coalesce(latency_ms, 0) / 1000.0
        end) as seconds_to_verify
    from ordered
    group by verification_id
),

final as (
    select
        -- ids
        first_attempts.verification_id,
        first_attempts.client_id,

        -- strings
        first_attempts.api_name,
        first_attempts.api_family,
        first_attempts.owner_team,
        first_attempts.region,
        first_attempts.document_type,
        first_attempts.client_type,
        first_attempts.failure_class as first_failure_class,

        -- numbers
        cast(rolled_up.attempts as integer) as attempts,
        cast(rolled_up.successful_attempts as integer) as successful_attempts,
        rolled_up.seconds_to_verify,

        -- booleans
        first_attempts.is_success as first_attempt_passed,
        rolled_up.eventually_passed,

        -- timestamps
        rolled_up.first_called_at,
        rolled_up.last_called_at
    from first_attempts
    inner join rolled_up
        on first_attempts.verification_id = rolled_up.verification_id
)

select * from final
