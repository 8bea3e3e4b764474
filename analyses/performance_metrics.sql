-- The three headline performance answers, read from the marts (no recomputation):
-- run the compiled file in the DuckDB CLI; each statement prints one table.

-- 1. p95 latency by API, slowest first (with the successful-calls p95 next to it).
--    APIs with fewer calls than var('rca_min_calls') are left out: a misspelt
--    service name with one slow call is not the slowest API.
select
    api_name,
    api_family,
    calls,
    p50_latency_ms,
    p95_latency_ms,
    p95_success_latency_ms,
    p99_latency_ms
from {{ ref('agg_latency_by_api') }}
where calls >= {{ var('rca_min_calls') }}
order by p95_latency_ms desc;

-- 2. Success rate by region with its Wilson 95% interval, worst first.
select
    region,
    calls,
    success_rate,
    success_rate_ci_lower,
    success_rate_ci_upper
from {{ ref('agg_success_by_region') }}
order by success_rate asc;

-- 3. Failure rate by document type with its Wilson 95% interval, worst first.
select
    document_type,
    calls,
    failure_rate,
    failure_rate_ci_lower,
    failure_rate_ci_upper
from {{ ref('agg_failure_by_document_type') }}
order by failure_rate desc;
