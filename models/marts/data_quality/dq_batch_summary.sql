{#
    Per batch: how many records arrived and where each went. The accounting
    identity record_count = facts + quarantined + set aside + duplicates +
    rejected is a
    test on this model (error severity), and record_count is counted by the
    loader independently of the CSV reader, so the test can fail. Lines
    reconcile too: every physical line of a file is the header, a blank line,
    part of a landed record or part of a rejected one.
#}

with

batches as (
    select * from {{ ref('stg_logs__load_batches') }}
),

validated_calls as (
    select * from {{ ref('int_api_calls_validated') }}
),

rejects as (
    select * from {{ ref('stg_logs__load_rejects') }}
),

routed_counts as (
    select
        batch_id,
        count(*) as landed_rows,
        sum(case when route = 'fact' then 1 else 0 end) as fact_count,
        sum(case when route = 'quarantine' then 1 else 0 end) as quarantined_count,
        sum(case when route = 'set_aside' then 1 else 0 end) as set_aside_count,
        sum(case when route = 'duplicate' then 1 else 0 end) as duplicate_count
    from validated_calls
    group by batch_id
),

reject_counts as (
    select
        batch_id,
        count(*) as rejected_rows,
        sum(line_count) as rejected_lines
    from rejects
    group by batch_id
),

joined as (
    select
        batches.batch_id,
        batches.source_name,
        batches.source_kind,
        batches.content_hash,
        cast(batches.record_count as bigint) as record_count,
        cast(coalesce(routed_counts.landed_rows, 0) as bigint) as landed_count,
        cast(coalesce(routed_counts.fact_count, 0) as bigint) as fact_count,
        cast(coalesce(routed_counts.quarantined_count, 0) as bigint) as quarantined_count,
        cast(coalesce(routed_counts.set_aside_count, 0) as bigint) as set_aside_count,
        cast(coalesce(routed_counts.duplicate_count, 0) as bigint) as duplicate_count,
        cast(coalesce(reject_counts.rejected_rows, 0) as bigint) as rejected_count,
        cast(batches.line_count as bigint) as line_count,
        cast(batches.header_line_count as bigint) as header_line_count,
        cast(batches.blank_line_count as bigint) as blank_line_count,
        cast(batches.landed_line_count as bigint) as landed_line_count,
        cast(coalesce(reject_counts.rejected_lines, 0) as bigint) as rejected_line_count,
        batches.landed_count as loader_landed_count,
        batches.loaded_at
    from batches
    left join routed_counts
        on batches.batch_id = routed_counts.batch_id
    left join reject_counts
        on batches.batch_id = reject_counts.batch_id
),

with_history as (
    select
        *,
        -- volume against the median of the five batches loaded before this one
        {{ api_trust.median_of('record_count') }} over (
            order by loaded_at, batch_id
            rows between 5 preceding and 1 preceding
        ) as recent_median_record_count
    from joined
),

final as (
    select
        -- ids
        batch_id,
        content_hash,

        -- strings
        source_name,
        source_kind,

        -- numbers
        record_count,
        landed_count,
        fact_count,
        quarantined_count,
        set_aside_count,
        duplicate_count,
        rejected_count,
        record_count - (fact_count + quarantined_count + set_aside_count + duplicate_count + rejected_count)
            as unaccounted_count,
        line_count,
        coalesce(
            line_count - (header_line_count + blank_line_count + landed_line_count + rejected_line_count),
            0
        ) as unaccounted_line_count,
        {{ api_trust.safe_rate('quarantined_count', 'record_count') }} as quarantine_rate,
        {{ api_trust.safe_rate('duplicate_count', 'record_count') }} as duplicate_rate,
        {{ api_trust.safe_rate('rejected_count', 'record_count') }} as reject_rate,
        cast(recent_median_record_count as double) as recent_median_record_count,

        -- booleans
        record_count = fact_count + quarantined_count + set_aside_count + duplicate_count + rejected_count
        and landed_count = coalesce(loader_landed_count, landed_count)
        and coalesce(
            line_count = header_line_count + blank_line_count + landed_line_count + rejected_line_count,
            true
        ) as is_reconciled,
        coalesce(
            recent_median_record_count > 0
            and (
                record_count < 0.2 * recent_median_record_count
                or record_count > 5 * recent_median_record_count
            ),
            false
        ) as is_volume_anomaly,

        -- timestamps
        loaded_at
    from with_history
)

select * from final
