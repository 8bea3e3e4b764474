{#
    The personal-data scan of the landed records, one row per landed batch (doc
    pii_batch_scans): a landed batch never changes, so each is scanned once and
    its row kept while its scan key holds (macro pii_batch_scans). Its tests fail
    a build on every batch with personal data until the batch leaves or is
    landed again.
#}
{{ config(materialized='table') }}

{{ api_trust.pii_batch_scans(source('logs', 'api_calls')) }}
