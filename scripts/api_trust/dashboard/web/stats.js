/* Formulas the page needs for filtered views. Each one has its source elsewhere and a test
 * (tests/python/test_dashboard_formulas.py) that runs this file on the source's own inputs:
 *   wilson        <- macros/statistics.sql (wilson_lower / wilson_upper), checked against
 *                    the marts' *_ci_lower / *_ci_upper columns
 *   sloStatus     <- models/intermediate/root_cause/time/int_slo_periods_measured.sql (over
 *                    budget, breached beyond doubt; poissonLower <- macros/time_statistics.sql
 *                    poisson_lower_bound), checked against agg_slo_status over the whole period
 *   versionCmp    <- rca_version_regressions / agg_latency_by_api_version (is_latest_version)
 * Display rules (the near-empty-period rule, histogram percentiles) exist only here. */
'use strict';

const Stats = (() => {
  const Z95 = 1.96; // as the macros: z = 1.96

  /** Wilson 95% interval of hits/n as macros/statistics.sql computes it: clamped to [0, 1]
   * and so that it always contains the rate; [null, null] without calls. */
  function wilson(hits, n) {
    if (!(n > 0)) return [null, null];
    const p = hits / n, z = Z95, den = 1 + z * z / n;
    const centre = p + z * z / (2 * n);
    const half = z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n));
    return [Math.min(p, Math.max(0, (centre - half) / den)), Math.max(p, Math.min(1, (centre + half) / den))];
  }

  /** Which periods get a rate drawn: those with at least `share` of the median busy period's
   * calls. A near-empty period (the last hour of an extract, holding only late retries) says
   * nothing about the failure rate. Returns [mask, how many busy periods were left blank]. */
  function drawnMask(calls, share = 0.05) {
    const busy = calls.filter((c) => c > 0).sort((a, b) => a - b);
    const typical = busy.length ? (busy[Math.floor((busy.length - 1) / 2)] + busy[Math.floor(busy.length / 2)]) / 2 : 0;
    const mask = calls.map((c) => c > 0 && c >= share * typical);
    return [mask, calls.filter((c, i) => c > 0 && !mask[i]).length];
  }

  function versionKey(v) {
    const parts = String(v).replace(/[^0-9.]+/g, ' ').trim().split(/[ .]+/).filter(Boolean).map(Number);
    return parts.length ? parts : [0];
  }

  /** Order of API versions by their numbers (v2 < v10 < v10.1), then by text. */
  function versionCmp(a, b) {
    const x = versionKey(a), y = versionKey(b);
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      const d = (x[i] === undefined ? -1 : x[i]) - (y[i] === undefined ? -1 : y[i]);
      if (d) return d;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /** 95% lower bound of a Poisson mean from k events (Garwood's interval through the
   * Wilson-Hilferty cube root), as macros/time_statistics.sql poisson_lower_bound. */
  function poissonLower(k) {
    if (!(k > 0)) return 0;
    return k * Math.pow(Math.max(0, 1 - 1 / (9 * k) - Z95 / (3 * Math.sqrt(k))), 3);
  }

  /** The availability SLO of one API over any window, from counts: eligible calls exclude auth
   * failures (they never reached the service), bad calls are the classes in
   * vars.availability_failure_classes (server, timeout, rate limited). `breached` is over budget
   * by the point estimate; `significant` is the mart's breach: at least minBad bad calls
   * (vars.slo_min_bad_calls) and the bad-call rate's 95% lower bound above the budget. */
  function sloStatus(eligible, bad, target, minBad = 1) {
    const budget = (1 - target) * eligible;
    const breached = bad > 0 && bad >= budget;
    return {
      eligible, bad, budget,
      availability: eligible > 0 ? 1 - bad / eligible : null,
      consumed: budget > 0 ? bad / budget : null,
      breached,
      significant: eligible > 0 && bad >= minBad && poissonLower(bad) > budget,
      atRisk: !breached && bad >= 0.75 * budget && bad > 0,
    };
  }

  /** p-th percentile from merged histogram buckets (upper edge of the bucket it falls in):
   * within one bucket's width (12% at 20 buckets a decade) of the exact value. */
  function histogramQuantile(counts, perDecade, p) {
    const buckets = Object.keys(counts).map(Number).sort((a, b) => a - b);
    const total = buckets.reduce((s, b) => s + counts[b], 0);
    let seen = 0;
    for (const b of buckets) {
      seen += counts[b];
      if (seen >= p * total) return Math.pow(10, (b + 1) / perDecade);
    }
    return null;
  }

  return { Z95, wilson, poissonLower, drawnMask, versionCmp, sloStatus, histogramQuantile };
})();

if (typeof window !== 'undefined') window.Stats = Stats;
