{#
    Segments as candidate findings, in the shape every producer keeps (doc
    rca_candidate): `failure_segment` (failures) and `slow_calls` (successful
    calls slower than their API's usual p95), whole window, with the numbers
    left after explain-away. Every tested segment is a row, significant or not:
    each is a test, and the one Benjamini-Hochberg pass (int_rca_candidates_tested)
    must count them all. Evidence is written only where it can matter (p <= the
    FDR level: no BH threshold is larger).
#}

with

segments as (
    select * from {{ ref('int_rca_segments_explained') }}
),

final as (
    select
        case metric when 'failure_rate' then 'failure_segment' else 'slow_calls' end as finding_type,
        api_name,
        segment,
        cast(null as timestamp) as started_at,
        cast(null as timestamp) as ended_at,
        metric,
        cast(trials as double) as calls,
        cast(observed as double) as observed,
        cast(expected as double) as expected,
        cast(case when metric = 'failure_rate' then excess else 0 end as double) as excess_failures,
        cast(case when metric = 'slow_call_share' then excess else 0 end as double) as excess_slow_calls,
        cast(lift as double) as lift,
        cast(coalesce(lift_lower, 0) as double) as lift_lower,
        cast(p_value as double) as p_value,
        cast(null as string) as error_reason,
        cast(null as string) as failure_class,
        case when p_value <= {{ var('rca_fdr_q') }} then
                case metric
                    when 'failure_rate' then 'Calls with ' || segment || ' failed '
                    when 'slow_call_share' then 'Successful calls with ' || segment
                        || ' were slower than the usual p95 of their API '
                end
                || {{ api_trust.fmt_pct('observed / trials') }} || ' of ' || {{ api_trust.fmt_int('trials') }}
                || ' times vs ' || {{ api_trust.fmt_pct('expected / trials') }} || ' expected ('
                || {{ api_trust.fmt_x('lift') }} || ', at least ' || {{ api_trust.fmt_x('coalesce(lift_lower, 0)') }}
                || '): ' || {{ api_trust.fmt_int('excess') }}
                || case metric when 'failure_rate' then ' excess failures' else ' excess slow calls' end
                || case
                    when expected > expected_before_explain_away * 1.05
                        then ', beyond what the findings overlapping it explain'
                    else ''
                end
                || '.'
        end as evidence
    from segments
)

select * from final
