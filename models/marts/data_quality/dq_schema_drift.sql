{#
    Per batch, how its columns differ from the contract (vars.log_columns in
    dbt_project.yml): added, missing, renamed through a known alias, or
    changed in type. Types were sniffed from a sample of each file, because
    the landing itself is all text. Numeric widening (integer in a double
    column) and anything in a text column are compatible, not drift.
#}

with

batch_columns as (
    select * from {{ ref('stg_logs__load_batch_columns') }}
),

batches as (
    select * from {{ ref('stg_logs__load_batches') }}
),

expected as (
    {{ api_trust.expected_columns_values() }}
),

delivered as (
    select
        batch_columns.*,
        expected.column_name is not null as is_contract_column,
        expected.is_required,
        expected.expected_type
    from batch_columns
    left join expected
        on batch_columns.canonical_name = expected.column_name
    where batch_columns.column_name not in ('batch_id', 'source_name', 'source_record_no', 'loaded_at')
),

type_families as (
    select
        *,
        case
            when sniffed_type in ('BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'HUGEINT', 'UBIGINT')
                then 'integer'
            when sniffed_type in ('DOUBLE', 'FLOAT', 'REAL') or sniffed_type like 'DECIMAL%' then 'number'
            when sniffed_type like 'TIMESTAMP%' or sniffed_type = 'DATE' then 'timestamp'
            when sniffed_type = 'BOOLEAN' then 'boolean'
            else 'text'
        end as sniffed_family,
        case
            when expected_type = 'BIGINT' then 'integer'
            when expected_type = 'DOUBLE' then 'number'
            when expected_type = 'TIMESTAMP' then 'timestamp'
            else 'text'
        end as expected_family
    from delivered
),

added as (
    select
        batch_id,
        'added' as change_type,
        column_name,
        cast(null as string) as contract_column,
        sniffed_type,
        cast(null as string) as expected_type,
        false as is_required
    from delivered
    where not is_contract_column
),

renamed as (
    select
        batch_id,
        'renamed' as change_type,
        column_name,
        canonical_name as contract_column,
        sniffed_type,
        expected_type,
        is_required
    from delivered
    where is_contract_column and column_name != canonical_name
),

type_changed as (
    select
        batch_id,
        'type_changed' as change_type,
        column_name,
        canonical_name as contract_column,
        sniffed_type,
        expected_type,
        is_required
    from type_families
    where
        is_contract_column
        and expected_family != 'text'
        and sniffed_family != 'text'
        and sniffed_family != expected_family
        and not (expected_family = 'number' and sniffed_family = 'integer')
),

expected_everywhere as (
    -- protocol columns (route, span kind, ...) are expected only of the shapes that have them
    select * from expected
    where not is_protocol
),

missing as (
    select
        batches.batch_id,
        'missing' as change_type,
        expected.column_name,
        expected.column_name as contract_column,
        cast(null as string) as sniffed_type,
        expected.expected_type,
        expected.is_required
    from batches
    cross join expected_everywhere as expected
    left join delivered
        on
            batches.batch_id = delivered.batch_id
            and expected.column_name = delivered.canonical_name
    where delivered.batch_id is null
),

changes as (
    select * from added
    union all
    select * from renamed
    union all
    select * from type_changed
    union all
    select * from missing
),

final as (
    select
        -- ids
        changes.batch_id,

        -- strings
        batches.source_name,
        changes.change_type,
        changes.column_name,
        changes.contract_column,
        changes.sniffed_type,
        changes.expected_type,
        case
            when changes.change_type = 'missing' and changes.is_required then 'error'
            when changes.change_type = 'missing' then 'info'
            else 'warn'
        end as severity,

        -- booleans
        changes.is_required,

        -- timestamps
        batches.loaded_at
    from changes
    inner join batches
        on changes.batch_id = batches.batch_id
)

select * from final
