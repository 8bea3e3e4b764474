{#
    Conversion of verifications grouped by one column (region, document type):
    first-attempt and eventual pass rates with Wilson bounds, attempts, retry
    share and the median time to verify. The call-level success rate sits next
    to them to show how much retries inflate call-level failure.
#}
{% macro conversion_rollup(verifications_relation, group_column) -%}
    select
        -- strings
        {{ group_column }},

        -- numbers
        cast(verifications as bigint) as verifications,
        cast(first_attempt_passes as bigint) as first_attempt_passes,
        {{ api_trust.safe_rate('first_attempt_passes', 'verifications') }} as first_attempt_pass_rate,
        {{ api_trust.wilson_lower('first_attempt_passes', 'verifications') }} as first_attempt_pass_rate_ci_lower,
        {{ api_trust.wilson_upper('first_attempt_passes', 'verifications') }} as first_attempt_pass_rate_ci_upper,
        cast(eventual_passes as bigint) as eventual_passes,
        {{ api_trust.safe_rate('eventual_passes', 'verifications') }} as eventual_pass_rate,
        {{ api_trust.wilson_lower('eventual_passes', 'verifications') }} as eventual_pass_rate_ci_lower,
        {{ api_trust.wilson_upper('eventual_passes', 'verifications') }} as eventual_pass_rate_ci_upper,
        {{ api_trust.safe_rate('recovered', 'verifications') }} as recovered_by_retry_rate,
        {{ api_trust.safe_rate('calls', 'verifications') }} as avg_attempts,
        {{ api_trust.safe_rate('retried', 'verifications') }} as retry_share,
        cast(calls as bigint) as calls,
        {{ api_trust.safe_rate('successful_calls', 'calls') }} as call_success_rate,
        {{ api_trust.percentile_at('verify_pcts', 1) }} as p50_seconds_to_verify,
        {{ api_trust.percentile_at('verify_pcts', 2) }} as p90_seconds_to_verify
    from (
        select
            {{ group_column }},
            count(*) as verifications,
            sum(case when first_attempt_passed then 1 else 0 end) as first_attempt_passes,
            sum(case when eventually_passed then 1 else 0 end) as eventual_passes,
            sum(case when eventually_passed and not first_attempt_passed then 1 else 0 end) as recovered,
            sum(case when attempts > 1 then 1 else 0 end) as retried,
            sum(attempts) as calls,
            sum(successful_attempts) as successful_calls,
            {{ api_trust.percentile_list('seconds_to_verify', [0.5, 0.9]) }} as verify_pcts
        from {{ verifications_relation }}
        group by {{ group_column }}
    ) as counted
{%- endmacro %}
