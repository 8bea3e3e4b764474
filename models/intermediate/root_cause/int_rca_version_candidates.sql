{#
    Version regressions as candidate findings, in the shape every producer
    keeps (doc rca_candidate): one row per version and metric of
    int_rca_versions_compared, started when the version was first seen if that
    was inside the window.
#}

with

compared as (
    select * from {{ ref('int_rca_versions_compared') }}
),

final as (
    select
        'version_regression' as finding_type,
        api_name,
        'api_name=' || api_name || ', api_version=' || api_version as segment,
        -- a release inside the window starts there; a version live from the start has no start
        case when is_released_in_window then first_seen_at end as started_at,
        cast(null as timestamp) as ended_at,
        metric,
        trials as calls,
        observed,
        expected,
        case when metric = 'failure_rate' then observed - expected else 0 end as excess_failures,
        case when metric = 'slow_call_share' then observed - expected else 0 end as excess_slow_calls,
        lift,
        lift_lower,
        p_value,
        cast(null as string) as error_reason,
        cast(null as string) as failure_class,
        api_name || ' ' || api_version
        || case metric when 'failure_rate' then ' failed ' else ' was slower than the usual p95 of its API on ' end
        || {{ api_trust.fmt_pct('observed / trials') }} || ' of ' || {{ api_trust.fmt_int('trials') }}
        || case metric when 'failure_rate' then ' calls' else ' successful calls' end
        || case
            when is_cutover
                then ' after it replaced ' || previous_version || ' (a cutover: they never ran on one day), vs '
                    || {{ api_trust.fmt_pct('expected / trials') }} || ' that ' || previous_version
                    || ' had before it in the same segments ('
            else ' on the days it ran beside ' || previous_version || ', vs '
                || {{ api_trust.fmt_pct('expected / trials') }} || ' that ' || previous_version
                || ' had in the same days and segments ('
        end || {{ api_trust.fmt_x('lift') }}
        || '): ' || {{ api_trust.fmt_int('observed - expected') }}
        || case metric when 'failure_rate' then ' excess failures.' else ' excess slow calls.' end as evidence
    from compared
)

select * from final
