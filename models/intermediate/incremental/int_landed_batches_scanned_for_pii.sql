{#
    The personal-data scan of the landed records, one row per landed batch (doc
    pii_batch_scans): a landed batch never changes, so each is scanned once and
    its row kept while its scan key holds (macro pii_batch_scans). Its tests fail
    a build on every batch with personal data until the batch leaves or is
    landed again.
#}
{{ config(materialized='table') }}

-- after the validation, which a full build runs alone with every core (macros/query_threads.sql):
-- started beside it, as its inputs allowed, this scan made three busy threads on two cores
-- (measured: README, `API_TRUST_DUCKDB_THREADS`)
-- depends_on: {{ ref('int_api_calls_validated') }}

{{ api_trust.pii_batch_scans(source('logs', 'api_calls')) }}
