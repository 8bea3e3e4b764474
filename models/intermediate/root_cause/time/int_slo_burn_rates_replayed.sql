{#
    The SLO alert rules replayed every 5 minutes over the history (doc
    slo_alerting): per API and evaluation step, eligible and bad calls and the
    burn rate over each rule window ending at the step, and which rules and
    severities fire. Only steps that can fire are evaluated: every rule needs
    a bad call in its short window, so steps more than the longest short
    window after a bad call cannot fire and are left out.
#}
{%- set rules = var('slo_alert_rules') -%}
{%- set long_windows = rules | map(attribute='long_window_minutes') | list -%}
{%- set short_windows = rules | map(attribute='short_window_minutes') | list -%}
{%- set windows = (long_windows + short_windows) | unique | sort -%}
{%- set longest_short = rules | map(attribute='short_window_minutes') | max -%}
{%- set z = var('slo_alert_bound_z') -%}
{%- set severities = rules | map(attribute='severity') | unique | list -%}
{#- each rule's condition and each severity's, as SQL text (doc slo_alerting) -#}
{%- set rule_conditions = [] -%}
{%- for rule in rules -%}
    {%- set long = rule.long_window_minutes -%}
    {%- set short = rule.short_window_minutes -%}
    {%- set allowed = rule.budget_share ~ ' * slo_period_days * 1440 / ' ~ long ~ ' * (1 - availability_target)' -%}
    {%- set long_bad = 'bad_calls_' ~ long ~ 'm' -%}
    {%- set long_bad = api_trust.poisson_lower_bound(long_bad, z) if z > 0 else long_bad -%}
    {%- do rule_conditions.append({
        'rule': rule.rule,
        'sql': long_bad ~ ' >= ' ~ allowed ~ ' * eligible_calls_' ~ long ~ 'm and eligible_calls_' ~ long ~ 'm > 0'
            ~ ' and bad_calls_' ~ long ~ 'm >= ' ~ var('slo_alert_min_bad_calls')
            ~ ' and bad_calls_' ~ short ~ 'm >= ' ~ allowed ~ ' * eligible_calls_' ~ short ~ 'm'
            ~ ' and eligible_calls_' ~ short ~ 'm > 0'
    }) -%}
{%- endfor -%}
{%- set severity_conditions = [] -%}
{%- for severity in severities -%}
    {%- set columns = [] -%}
    {%- for rule in rules if rule.severity == severity -%}
        {%- do columns.append('is_' ~ rule.rule ~ '_firing') -%}
    {%- endfor -%}
    {%- do severity_conditions.append({'severity': severity, 'sql': columns | join(' or ')}) -%}
{%- endfor -%}

with

buckets as (
    select * from {{ ref('int_rca_calls_bucketed') }}
),

slos as (
    select * from {{ ref('int_api_slos_resolved') }}
),

steps as (
    select
        api_name,
        {{ api_trust.time_step_number('bucket_at', 5) }} as step_no,
        -- auth failures never reached the service: not eligible
        sum(case when coalesce(failure_class, '') <> 'auth' then calls else 0 end) as eligible_calls,
        sum(case
            when failure_class in {{ api_trust.sql_list(var('availability_failure_classes')) }} then calls else 0
        end) as bad_calls
    from buckets
    group by api_name, {{ api_trust.time_step_number('bucket_at', 5) }}
),

last_step as (
    select max(step_no) as step_no from steps
),

-- A step can fire only with a bad call in its longest short window: the steps from each
-- bad step to the end of that window (not past the last step of the data). Only those are
-- evaluated, so the work follows the bad calls, not the calendar: dense steps from an
-- API's first call to its last cost a test warehouse whose hostile files hold calls years
-- apart 101 s of a 116 s build.
bad_steps as (
    select
        api_name,
        step_no
    from steps
    where bad_calls > 0
),

window_steps as (
    select {{ api_trust.integer_range(0, longest_short // 5 - 1) }} as step_offset
),

evaluation_steps as (
    select distinct
        bad_steps.api_name,
        bad_steps.step_no + window_steps.step_offset as step_no
    from bad_steps
    cross join window_steps
    cross join last_step
    where bad_steps.step_no + window_steps.step_offset <= last_step.step_no
),

-- every step with calls (what the windows sum) and every step to evaluate
stepped as (
    select
        api_name,
        step_no,
        eligible_calls,
        bad_calls
    from steps
    union all
    select
        api_name,
        step_no,
        0 as eligible_calls,
        0 as bad_calls
    from evaluation_steps
),

series as (
    select
        api_name,
        step_no,
        sum(eligible_calls) as eligible_calls,
        sum(bad_calls) as bad_calls
    from stepped
    group by api_name, step_no
),

-- a window of N minutes at a step: the calls of the N / 5 steps ending at it, counted by
-- step number, so steps without calls need no row
windowed as (
    select
        {%- for minutes in windows %}
            sum(eligible_calls) over (
                partition by api_name order by step_no
                range between {{ minutes // 5 - 1 }} preceding and current row
            ) as eligible_calls_{{ minutes }}m,
            sum(bad_calls) over (
                partition by api_name order by step_no
                range between {{ minutes // 5 - 1 }} preceding and current row
            ) as bad_calls_{{ minutes }}m,
        {%- endfor %}
        api_name,
        step_no
    from series
),

evaluated as (
    select
        windowed.*,
        slos.availability_target,
        slos.slo_period_days
    from windowed
    inner join slos
        on windowed.api_name = slos.api_name
    -- a step can fire only with a bad call in its longest short window
    where windowed.bad_calls_{{ longest_short }}m > 0
),

rules_applied as (
    select
        {%- for condition in rule_conditions %}
            coalesce({{ condition.sql }}, false) as is_{{ condition.rule }}_firing,
        {%- endfor %}
        *
    from evaluated
),

final as (
    select
        -- strings
        api_name,

        -- numbers
        step_no,
        availability_target,
        slo_period_days,
        {%- for minutes in windows %}
            cast(eligible_calls_{{ minutes }}m as bigint) as eligible_calls_{{ minutes }}m,
            cast(bad_calls_{{ minutes }}m as bigint) as bad_calls_{{ minutes }}m,
            {{ api_trust.safe_rate(
                api_trust.safe_rate('bad_calls_' ~ minutes ~ 'm', 'eligible_calls_' ~ minutes ~ 'm'),
                '(1 - availability_target)'
            ) }} as burn_rate_{{ minutes }}m,
        {%- endfor %}

        -- booleans
        {%- for rule in rules %}
            is_{{ rule.rule }}_firing,
        {%- endfor %}
        {%- for condition in severity_conditions %}
            ({{ condition.sql }}) as is_{{ condition.severity }}_alerting,
        {%- endfor %}

        -- timestamps: a step is evaluated at the end of its 5-minute bucket
        {{ api_trust.add_minutes("cast('2000-01-01 00:00:00' as timestamp)", '(step_no + 1) * 5') }} as evaluated_at
    from rules_applied
)

select * from final
