{#
    Statistics for root cause analysis: tests of "does this segment fail more
    than it should?", multiple-testing control and a sortable version key.
    Portable SQL unless dispatched; see models/marts/root_cause/_docs_root_cause.md
    for the definitions these implement.
#}

{#
    z-score of `hits` out of `trials` against an expected rate, on the arcsine
    (variance-stabilising) scale with Anscombe's 3/8 correction: for large
    counts it equals the classical z of a proportion, and for small counts its
    tail stays honest where the plain normal approximation calls 3 failures
    out of 30 "significant". `inflation` (>= 1) widens the variance for the
    sampling error of the expected rate itself (1 + n/m when the expectation
    comes from m other calls), which makes it a two-proportion test.
    Callers evaluate it only when the expected rate is known: DuckDB's
    least/greatest skip nulls, so a null rate would be clamped to 0.
#}
{% macro proportion_z(hits, trials, expected_rate, inflation=1) -%}
    (
        2 * sqrt(cast({{ trials }} as double))
        * (
            asin(sqrt((cast({{ hits }} as double) + 0.375) / ({{ trials }} + 0.75)))
            - asin(sqrt(least(1.0, greatest(0.0, {{ expected_rate }}))))
        )
        / sqrt({{ inflation }})
    )
{%- endmacro %}

{# Two-proportion z (group 1 vs group 2) on the arcsine scale: Cohen's h over its standard error. #}
{% macro two_proportion_z(hits_1, trials_1, hits_2, trials_2) -%}
    (
        (
            asin(sqrt((cast({{ hits_1 }} as double) + 0.375) / ({{ trials_1 }} + 0.75)))
            - asin(sqrt((cast({{ hits_2 }} as double) + 0.375) / ({{ trials_2 }} + 0.75)))
        )
        / sqrt(1.0 / (4.0 * {{ trials_1 }}) + 1.0 / (4.0 * {{ trials_2 }}))
    )
{%- endmacro %}

{# Two-sided p-value of a standard normal z (z = 1.96 gives 0.05). #}
{% macro two_sided_p(z) -%}
    case when {{ z }} is not null then least(1.0, greatest(0.0, 2 * (1 - {{ api_trust.normal_cdf('abs(' ~ z ~ ')') }}))) end
{%- endmacro %}

{# One-sided (upper tail) p-value of a standard normal z. #}
{% macro upper_p(z) -%}
    case when {{ z }} is not null then least(1.0, greatest(0.0, 1 - {{ api_trust.normal_cdf(z) }})) end
{%- endmacro %}

{#
    Benjamini-Hochberg q-values, as a select over `relation` (a CTE name):
    every column of it plus `q_value`. Rows whose p-value is null were not
    tested: they get a null q and do not count in m. Ties get the same q
    (the running minimum from the largest p down takes care of it).
    q_(k) = min over j >= k of p_(j) * m / j, capped at 1.
#}
{% macro bh_q_values(relation, p_column='p_value', partition_by=none, q_column='q_value') -%}
    {%- set part = 'partition by ' ~ partition_by if partition_by else '' -%}
    select
        ranked.*,
        case
            when ranked.{{ p_column }} is not null then least(1.0, min(
                ranked.{{ p_column }} * ranked.{{ q_column }}_tests / ranked.{{ q_column }}_rank
            ) over (
                {{ part }}
                order by ranked.{{ q_column }}_rank desc
                rows between unbounded preceding and current row
            ))
        end as {{ q_column }}
    from (
        select
            {{ relation }}.*,
            row_number() over (
                {{ part }} order by case when {{ p_column }} is null then 1 else 0 end, {{ p_column }}
            ) as {{ q_column }}_rank,
            count({{ p_column }}) over ({{ part }}) as {{ q_column }}_tests
        from {{ relation }}
    ) as ranked
{%- endmacro %}

{#
    A key that orders versions numerically ('v2' < 'v10', 'v2' < 'v2.1').
    Engine-specific (lists), hence dispatched.
#}
{% macro version_sort_key(expr) -%}
    {{ return(adapter.dispatch('version_sort_key', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__version_sort_key(expr) -%}
    list_transform(string_split(substr({{ expr }}, 2), '.'), x -> try_cast(x as integer))
{%- endmacro %}

{% macro spark__version_sort_key(expr) -%}
    transform(split(substr({{ expr }}, 2), '\\.'), x -> cast(x as int))
{%- endmacro %}

{# Whole hours since 2000-01-01 (a fixed anchor): consecutive hours differ by one. #}
{% macro hour_number(expr) -%}
    cast(floor({{ api_trust.seconds_between("cast('2000-01-01 00:00:00' as timestamp)", expr) }} / 3600.0) as bigint)
{%- endmacro %}

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

{# Plain-text number formats for evidence sentences (portable casts and rounding). #}
{% macro fmt_pct(expr, digits=1) -%}
    cast(round(100 * ({{ expr }}), {{ digits }}) as varchar) || '%'
{%- endmacro %}

{# A number rounded to a whole number, as text. #}
{% macro fmt_int(expr) -%}
    cast(cast(round({{ expr }}) as bigint) as varchar)
{%- endmacro %}

{# A ratio as text with two decimals and an x (2.16x). #}
{% macro fmt_x(expr) -%}
    cast(round({{ expr }}, 2) as varchar) || 'x'
{%- endmacro %}

{# A timestamp as text to the minute (2026-10-29 10:00). #}
{% macro fmt_minute(expr) -%}
    substr(cast({{ expr }} as varchar), 1, 16)
{%- endmacro %}

{#
    One sentence with the numbers behind a finding (columns of rca_findings'
    `scored` step: finding_type, segment, metric, calls, segment_value,
    baseline_value, lift, excess_*, clients_affected, dominant_error_reason,
    reference, started_at, ended_at).
#}
{% macro finding_evidence(f) -%}
    case {{ f }}.finding_type
        when 'failure_segment' then
            'Calls with ' || {{ f }}.segment_label || ' failed ' || {{ api_trust.fmt_pct(f ~ '.segment_value') }}
            || ' of ' || {{ api_trust.fmt_int(f ~ '.calls') }} || ' vs ' || {{ api_trust.fmt_pct(f ~ '.baseline_value') }}
            || ' expected (' || {{ api_trust.fmt_x(f ~ '.lift') }} || '): '
            || {{ api_trust.fmt_int(f ~ '.excess_failures') }} || ' excess failures, mostly '
            || coalesce({{ f }}.dominant_error_reason, 'mixed reasons') || ', '
            || {{ api_trust.fmt_int(f ~ '.clients_affected') }} || ' clients affected.'
        when 'client_auth' then
            'Client ' || {{ f }}.client_id || ' (' || {{ f }}.client_type || ') had '
            || {{ api_trust.fmt_pct(f ~ '.segment_value') }} || ' of its ' || {{ api_trust.fmt_int(f ~ '.calls') }}
            || ' calls rejected (mostly ' || coalesce({{ f }}.dominant_error_reason, 'auth') || ') vs '
            || {{ api_trust.fmt_pct(f ~ '.baseline_value', 2) }} || ' for other clients: '
            || {{ api_trust.fmt_int(f ~ '.excess_failures') }} || ' excess auth failures, the last at '
            || {{ api_trust.fmt_minute(f ~ '.ended_at') }} || ' UTC.'
        when 'incident' then
            {{ f }}.api_name || ' failed ' || {{ api_trust.fmt_pct(f ~ '.segment_value') }} || ' of '
            || {{ api_trust.fmt_int(f ~ '.calls') }} || ' calls from ' || {{ api_trust.fmt_minute(f ~ '.started_at') }}
            || ' to ' || {{ api_trust.fmt_minute(f ~ '.ended_at') }} || ' UTC vs '
            || {{ api_trust.fmt_pct(f ~ '.baseline_value') }} || ' normally: '
            || {{ api_trust.fmt_int(f ~ '.excess_failures') }} || ' excess failures, mostly '
            || coalesce({{ f }}.dominant_error_reason, 'mixed reasons') || ', '
            || {{ api_trust.fmt_int(f ~ '.clients_affected') }} || ' clients affected.'
        when 'version_regression' then
            case when {{ f }}.metric = 'p95_latency_ms' then
                {{ f }}.api_name || ' ' || {{ f }}.api_version || ' p95 is ' || {{ api_trust.fmt_int(f ~ '.segment_value') }}
                || ' ms vs ' || {{ api_trust.fmt_int(f ~ '.baseline_value') }} || ' ms on ' || {{ f }}.reference
                || ' (' || {{ api_trust.fmt_x(f ~ '.lift') }} || '): ' || {{ api_trust.fmt_int(f ~ '.excess_slow_calls') }}
                || ' more successful calls than expected are slower than ' || {{ f }}.reference || '''s p95, '
                || {{ api_trust.fmt_int(f ~ '.clients_affected') }} || ' clients affected.'
            else
                {{ f }}.api_name || ' ' || {{ f }}.api_version || ' fails ' || {{ api_trust.fmt_pct(f ~ '.segment_value') }}
                || ' of ' || {{ api_trust.fmt_int(f ~ '.calls') }} || ' calls vs '
                || {{ api_trust.fmt_pct(f ~ '.baseline_value') }} || ' on ' || {{ f }}.reference || ': '
                || {{ api_trust.fmt_int(f ~ '.excess_failures') }} || ' excess failures, mostly '
                || coalesce({{ f }}.dominant_error_reason, 'mixed reasons') || '.'
            end
        when 'latency_tail' then
            {{ f }}.api_name || ' p95 is ' || {{ api_trust.fmt_int(f ~ '.segment_value') }}
            || ' ms where its median and the usual ' || {{ f }}.reference || ' tail shape predict '
            || {{ api_trust.fmt_int(f ~ '.baseline_value') }} || ' ms (' || {{ api_trust.fmt_x(f ~ '.lift') }}
            || ' heavier tail): ' || {{ api_trust.fmt_int(f ~ '.excess_slow_calls') }} || ' excess slow calls, '
            || {{ api_trust.fmt_int(f ~ '.clients_affected') }} || ' clients affected.'
        when 'slo_breach' then
            {{ f }}.api_name || ' availability is ' || {{ api_trust.fmt_pct(f ~ '.segment_value', 2) }} || ' vs a '
            || {{ api_trust.fmt_pct(f ~ '.baseline_value', 2) }} || ' target: ' || {{ f }}.reference
            || ' server/timeout failures, ' || {{ api_trust.fmt_x(f ~ '.lift') }}
            || ' its error budget, mostly ' || coalesce({{ f }}.dominant_error_reason, 'mixed reasons') || '.'
    end
{%- endmacro %}

{# A concrete next step for a finding, by type and by what the segment is. #}
{% macro finding_recommendation(f) -%}
    case
        when {{ f }}.finding_type = 'failure_segment' and {{ f }}.region is not null
            and {{ f }}.dominant_error_reason in ('blurry_image', 'face_not_detected') then
            'Ship a low-bandwidth capture path for ' || coalesce({{ f }}.api_name, 'image APIs') || ' in '
            || {{ f }}.region || ': adaptive image compression and on-device quality checks before upload, '
            || 'with a fallback flow (DigiLocker fetch or assisted capture) after one failed attempt.'
        when {{ f }}.finding_type = 'failure_segment' and {{ f }}.region is not null then
            'Investigate ' || coalesce({{ f }}.api_name, 'the platform') || ' in ' || {{ f }}.region
            || ' (regional network and upstreams): ' || coalesce({{ f }}.dominant_error_reason, 'failures')
            || ' is concentrated there.'
        when {{ f }}.finding_type = 'failure_segment' and {{ f }}.document_type is not null
            and {{ f }}.dominant_error_reason in ('invalid_document', 'document_expired', 'missing_field') then
            'Check the ' || {{ f }}.document_type || ' template/parser of ' || coalesce({{ f }}.api_name, 'the APIs')
            || ' (valid documents rejected as ' || {{ f }}.dominant_error_reason || ' point to a parser bug): '
            || 'replay the failing ' || {{ f }}.document_type || ' samples, fix, and add them to the regression set.'
        when {{ f }}.finding_type = 'failure_segment' and {{ f }}.document_type is not null then
            'Add capture guidance for ' || {{ f }}.document_type || ' in the ' || coalesce({{ f }}.api_name, 'KYC')
            || ' flow and send failing ' || {{ f }}.document_type || ' samples ('
            || coalesce({{ f }}.dominant_error_reason, 'failures') || ') to ' || coalesce({{ f }}.owner_team, 'the owner')
            || ' as model training data.'
        when {{ f }}.finding_type = 'failure_segment' and {{ f }}.api_version is not null then
            'Compare ' || coalesce({{ f }}.api_name, 'APIs') || ' ' || {{ f }}.api_version
            || ' with the other versions and roll back or fix the release ('
            || coalesce({{ f }}.dominant_error_reason, 'failures') || ').'
        when {{ f }}.finding_type = 'failure_segment' and {{ f }}.client_id is not null then
            'Contact client ' || {{ f }}.client_id || ' about their integration: most failures are '
            || coalesce({{ f }}.dominant_error_reason, 'mixed') || '.'
        when {{ f }}.finding_type = 'failure_segment' then
            'Review the ' || {{ f }}.client_type || ' integrations of ' || coalesce({{ f }}.api_name, 'the platform')
            || ' (SDK version, input validation): most failures are '
            || coalesce({{ f }}.dominant_error_reason, 'mixed') || '.'
        when {{ f }}.finding_type = 'client_auth' then
            'Credential outreach: contact client ' || {{ f }}.client_id || ' (' || {{ f }}.client_type
            || ') now; their calls fail with ' || coalesce({{ f }}.dominant_error_reason, 'auth errors')
            || ', so help them deploy a valid, rotated API key and check their entitlements.'
        when {{ f }}.finding_type = 'incident' then
            'Run an incident review of the ' || {{ f }}.api_name || ' outage ('
            || coalesce({{ f }}.dominant_error_reason, 'failures') || '): root cause, a burn-rate alert on '
            || {{ f }}.api_name || ', and a status note to the affected clients.'
        when {{ f }}.finding_type = 'version_regression' then
            'Roll back ' || {{ f }}.api_name || ' ' || {{ f }}.api_version || ' to ' || {{ f }}.reference
            || ' (or shift traffic to it) until the '
            || case when {{ f }}.metric = 'p95_latency_ms' then 'latency' else 'failure' end
            || ' regression is fixed.'
        when {{ f }}.finding_type = 'latency_tail' then
            'Infra work on the ' || {{ f }}.api_name || ' tail: trace the slowest 5% of calls, '
            || 'cache or pre-fetch the slow upstream lookups, and set tighter upstream timeouts with hedged retries.'
        when {{ f }}.finding_type = 'slo_breach' then
            'Reliability work on ' || {{ f }}.api_name || ': '
            || coalesce({{ f }}.dominant_error_reason, 'server errors')
            || ' drives its server/timeout failures; add redundancy or retries on that path and alert on burn rate.'
    end
{%- endmacro %}

{#
    The six segment dimensions of the root-cause marts, in a fixed order: the
    ones in `keep` come from `relation`, the others are null (= any value).
#}
{% macro segment_dimensions(keep, relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {%- for dim in ['api_name', 'api_version', 'region', 'document_type', 'client_type', 'client_id'] -%}
        {{ prefix ~ dim if dim in keep else 'cast(null as varchar) as ' ~ dim }}{{ ',' if not loop.last }}
    {% endfor -%}
{%- endmacro %}

{# Concatenate the values of a group into one string, in a given order. #}
{% macro ordered_string_agg(expr, separator, order_by) -%}
    {{ return(adapter.dispatch('ordered_string_agg', 'api_trust')(expr, separator, order_by)) }}
{%- endmacro %}

{% macro default__ordered_string_agg(expr, separator, order_by) -%}
    string_agg({{ expr }}, '{{ separator }}' order by {{ order_by }})
{%- endmacro %}

{% macro spark__ordered_string_agg(expr, separator, order_by) -%}
    array_join(transform(array_sort(collect_list(struct({{ order_by }} as k, {{ expr }} as v))), x -> x.v), '{{ separator }}')
{%- endmacro %}
