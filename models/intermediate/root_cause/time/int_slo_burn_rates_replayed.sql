{#
    The SLO alert rules replayed every 5 minutes over the history (doc
    slo_alerting): per API and evaluation step, eligible and bad calls and the
    burn rate over each rule window ending at the step, and which rules and
    severities fire. Only steps that can fire are evaluated: every rule needs
    a bad call in its short window, so steps more than the longest short
    window after an API's last bad call cannot fire and are left out.
#}
{%- set rules = var('slo_alert_rules') -%}
{%- set windows = ((rules | map(attribute='long_window_minutes') | list) + (rules | map(attribute='short_window_minutes') | list)) | unique | sort -%}
{%- set longest_short = rules | map(attribute='short_window_minutes') | max -%}
{%- set z = var('slo_alert_bound_z') -%}
{%- set severities = rules | map(attribute='severity') | unique | list -%}

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

offsets as (
    {{ dbt.generate_series(longest_short // 5) }}
),

evaluation_steps as (
    select distinct
        steps.api_name,
        steps.step_no + offsets.generated_number - 1 as step_no
    from steps
    cross join offsets
    cross join last_step
    where
        steps.bad_calls > 0
        and steps.step_no + offsets.generated_number - 1 <= last_step.step_no
),

series as (
    select
        coalesce(steps.api_name, evaluation_steps.api_name) as api_name,
        coalesce(steps.step_no, evaluation_steps.step_no) as step_no,
        coalesce(steps.eligible_calls, 0) as eligible_calls,
        coalesce(steps.bad_calls, 0) as bad_calls,
        evaluation_steps.step_no is not null as is_evaluated
    from steps
    full outer join evaluation_steps
        on
            steps.api_name = evaluation_steps.api_name
            and steps.step_no = evaluation_steps.step_no
),

windowed as (
    select
        api_name,
        step_no,
        is_evaluated,
        {%- for minutes in windows %}
        sum(eligible_calls) over (
            partition by api_name order by step_no range between {{ minutes // 5 - 1 }} preceding and current row
        ) as eligible_calls_{{ minutes }}m,
        sum(bad_calls) over (
            partition by api_name order by step_no range between {{ minutes // 5 - 1 }} preceding and current row
        ) as bad_calls_{{ minutes }}m{{ ',' if not loop.last }}
        {%- endfor %}
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
    where windowed.is_evaluated
),

rules_applied as (
    select
        *,
        {%- for rule in rules %}
        {%- set long = rule.long_window_minutes -%}
        {%- set short = rule.short_window_minutes -%}
        {%- set threshold = rule.budget_share ~ ' * slo_period_days * 1440 / ' ~ long %}
        coalesce(
            {% if z > 0 -%}
            {{ api_trust.poisson_lower_bound('bad_calls_' ~ long ~ 'm', z) }}
            {%- else -%}
            bad_calls_{{ long }}m
            {%- endif %} >= {{ threshold }} * (1 - availability_target) * eligible_calls_{{ long }}m
            and eligible_calls_{{ long }}m > 0
            and bad_calls_{{ short }}m >= {{ threshold }} * (1 - availability_target) * eligible_calls_{{ short }}m
            and eligible_calls_{{ short }}m > 0,
            false
        ) as is_{{ rule.rule }}_firing{{ ',' if not loop.last }}
        {%- endfor %}
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
        {{ api_trust.safe_rate(api_trust.safe_rate('bad_calls_' ~ minutes ~ 'm', 'eligible_calls_' ~ minutes ~ 'm'),
                               '(1 - availability_target)') }} as burn_rate_{{ minutes }}m,
        {%- endfor %}

        -- booleans
        {%- for rule in rules %}
        is_{{ rule.rule }}_firing,
        {%- endfor %}
        {%- for severity in severities %}
        (
            {%- for rule in rules if rule.severity == severity %}
            is_{{ rule.rule }}_firing{{ ' or ' if not loop.last }}
            {%- endfor %}
        ) as is_{{ severity }}_alerting,
        {%- endfor %}

        -- timestamps: a step is evaluated at the end of its 5-minute bucket
        {{ api_trust.add_minutes("cast('2000-01-01 00:00:00' as timestamp)", '(step_no + 1) * 5') }} as evaluated_at
    from rules_applied
)

select * from final
