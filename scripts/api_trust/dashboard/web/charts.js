/* Every chart of the dashboard, defined once. The page draws them for its current filters and
 * the PNG export (`make dashboards`) asks the page for the same charts through Plotly.toImage.
 *
 * A chart is {id, section, png, wide, needs, build(data, view, width)}; build returns a plotly
 * figure {data, layout} or {note: 'why there is nothing to draw'}. `data` is a Data (below) over
 * the embedded payload; `view` is {scope, from, to}. Each title says what the chart found, and its
 * subtitle what it covers: the filtered scope and window, or "whole period" and why.
 * `needs` names the fields a chart is about (region, document_type, latency_ms...): when the data
 * lacks one (payload.coverage, decided once in SQL by dashboard/marts.py, which the report reads
 * too) the chart is one line saying so, never a single bar named unknown, and exports no PNG.
 * Colours mean one thing each: red = bad (failing, regressed, breached), amber = warning or data
 * quality, green = meets its objective, blue and greys = neutral quantities. */
'use strict';

const Charts = (() => {
  const COLOR = {
    bad: '#dc2626', warn: '#d97706', ok: '#059669', ink: '#0f172a', muted: '#475569',
    neutral: '#64748b', light: '#cbd5e1', accent: '#2563eb',
  };
  // series without a judgement (APIs, versions): no red, amber or green among them
  const SERIES = ['#2563eb', '#0891b2', '#7c3aed', '#475569', '#0d9488', '#4f46e5', '#0369a1', '#6b7280'];
  const FONT = "Inter, 'Segoe UI', Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif";
  const MIN_HEIGHT = 380;
  const CHART_APIS = 8;
  const NO_VALUE = 'unknown'; // the marts' value for "the log did not say" (a region, a document)
  const RATE_AXIS = 'Share of calls that failed'; // every failure-rate axis (a share, not a count)
  const MAX_TIMELINE_LABELS = 4; // incident labels on the timeline; the incidents table lists them all
  const LABELS = {
    client_input: 'client input', fraud_decision: 'fraud decision', auth: 'auth', rate_limited: 'rate limited', server: 'server', timeout: 'timeout',
    version_regression: 'Version regression', client_auth: 'Client sends bad credentials', incident: 'Incident',
    failure_segment: 'Failure hotspot', slow_calls: 'Slow-call hotspot', latency_tail: 'Heavy latency tail', slo_breach: 'Availability SLO breach',
    traffic_drop: 'Traffic drop', seasonal_bump: 'Recurring daily bump',
    change: 'new', hotspot: 'chronic', api_health: 'API-wide',
    api_name: 'API', api_version: 'version', region: 'region', document_type: 'document', client_type: 'client type',
    client_id: 'client', failure_rate: 'failure rate', p95_latency_ms: 'p95 latency', availability: 'availability',
    auth_failure_rate: 'auth failure rate', slow_share: 'share of slow calls', slow_call_share: 'share of slow calls',
  };

  // ------------------------------------------------------------------ text
  const pt = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const human = (key) => (key === null || key === undefined) ? '' : (LABELS[key] || String(key).replace(/_/g, ' '));
  const pct = (r, d) => (r === null || r === undefined || !isFinite(r)) ? 'n/a' : (100 * r).toFixed(d === undefined ? 1 : d) + '%';
  const ms = (v) => (v === null || v === undefined) ? 'n/a' : (v >= 1000 ? (v / 1000).toFixed(1) + ' s' : v.toFixed(0) + ' ms');
  const fmt = (n) => Number(n).toLocaleString('en-US');
  const plural = (n, one, many) => n + ' ' + (n === 1 ? one : (many || one + 's'));
  const sum = (xs) => xs.reduce((a, x) => a + x, 0);
  const orList = (xs) => xs.length < 2 ? xs.join('') : xs.slice(0, -1).join(', ') + ' or ' + xs[xs.length - 1];

  function wrap(text, width) {
    const lines = [];
    String(text).split('\n').forEach((para) => {
      let line = '';
      para.split(' ').forEach((w) => {
        if (line && line.length + 1 + w.length > width) { lines.push(line); line = w; } else { line = line ? line + ' ' + w : w; }
      });
      lines.push(line);
    });
    return lines.map(pt).join('<br>');
  }

  /** The shared look: the finding as a bold title, what the chart covers below it. */
  function layout(width, finding, subtitle, xtitle, ytitle, extra) {
    const chars = Math.max(28, Math.floor((width || 1200) / 9));
    const base = {
      title: {
        text: '<b>' + wrap(finding, chars) + "</b><br><span style='font-size:12px;color:#475569'>" + wrap(subtitle, Math.floor(chars * 1.25)) + '</span>',
        x: 0.01, xanchor: 'left', xref: 'container', y: 1, yanchor: 'bottom', yref: 'paper', automargin: true, pad: { b: 14 }, font: { size: 15 },
      },
      font: { family: FONT, size: 12, color: COLOR.ink },
      paper_bgcolor: '#ffffff', plot_bgcolor: '#ffffff', height: MIN_HEIGHT,
      margin: { l: 60, r: 24, t: 20, b: 90 },
      xaxis: { title: { text: xtitle }, gridcolor: '#e2e8f0', linecolor: '#94a3b8', automargin: true },
      yaxis: { title: { text: ytitle }, gridcolor: '#e2e8f0', linecolor: '#94a3b8', automargin: true },
      legend: { orientation: 'h', yref: 'container', y: 0, yanchor: 'bottom', x: 0, font: { size: 11 } },
      hoverlabel: { font: { family: FONT } },
    };
    Object.keys(extra || {}).forEach((k) => {
      const v = extra[k];
      if (v === undefined) return; // an option this variant does not use
      base[k] = (v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object') ? Object.assign({}, base[k], v) : v;
    });
    base.height = Math.max(MIN_HEIGHT, base.height);
    return base;
  }
  const note = (text) => ({ note: text });
  const rgba = (hex, a) => 'rgba(' + [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(',') + ',' + a + ')';

  // ------------------------------------------------------------------ data over the payload
  /** Filtered sums over the embedded cubes. Scopes: 'all', 'family:F', 'api:NAME', 'unknown'. */
  function Data(P) {
    const keys = P.keys || [], days = P.days || [], regions = P.meta.regions, classes = P.meta.classes;
    const KEY = {}; keys.forEach((k) => { KEY[k.key] = k; });
    const member = {}; keys.forEach((k) => (k.members || []).forEach((m) => { member[m] = k.key; }));
    const lat = {};
    if (P.latency) P.latency.api_name.forEach((a, i) => {
      lat[a] = { calls: P.latency.calls[i], p50: P.latency.p50_latency_ms[i], p95: P.latency.p95_latency_ms[i], p99: P.latency.p99_latency_ms[i] };
    });
    const slo = {}; (P.slo || []).forEach((r) => { slo[r.api_name] = r; });
    const regressed = {};
    (P.regressions || []).forEach((r) => { if (r.is_regression) regressed[r.api_name + '\u0000' + r.api_version] = r; });

    const keyOf = (apiName) => KEY[apiName] ? apiName : (member[apiName] || null);
    function inScope(keyName, scope) {
      const k = KEY[keyName];
      if (!k || scope === 'all') return !!k;
      if (scope === 'unknown') return keyName === 'unknown';
      const i = scope.indexOf(':'), kind = scope.slice(0, i), name = scope.slice(i + 1);
      return kind === 'family' ? k.family === name && k.is_api : keyName === name;
    }
    const apiInScope = (apiName, scope) => { const k = keyOf(apiName); return k !== null && inScope(k, scope); };
    function scopeText(scope) {
      if (scope === 'all') return 'all APIs';
      if (scope === 'unknown') return 'likely misspelt API names';
      const i = scope.indexOf(':');
      return scope.slice(0, i) === 'family' ? scope.slice(i + 1) + ' family' : scope.slice(i + 1);
    }
    const isWhole = (view) => !days.length || (view.from <= days[0] && view.to >= days[days.length - 1]);
    const periodText = (view) => isWhole(view) ? 'whole period' : view.from + ' to ' + view.to;
    const dayIn = (day, view) => (!view.from || day >= view.from) && (!view.to || day <= view.to);
    const apis = (scope) => keys.filter((k) => k.is_api && inScope(k.key, scope)).map((k) => k.key); // busiest first

    /** Sums of the daily cube over the view, grouped by `by(i)` (a row index -> group name). */
    function daily(view, by) {
      const c = P.daily, out = {};
      if (!c) return out;
      for (let i = 0; i < c.d.length; i++) {
        if (!inScope(keys[c.k[i]].key, view.scope) || !dayIn(days[c.d[i]], view)) continue;
        const g = by(i), o = out[g] || (out[g] = { calls: 0, seen: 0, failures: 0, byClass: {} });
        // calls are weighted by a sampled log's rate; `seen` counts the records behind them
        o.calls += c.calls[i]; o.seen += c.sampled_calls ? c.sampled_calls[i] : c.calls[i];
        classes.forEach((cl) => {
          const n = c[cl + '_failures'][i];
          o.byClass[cl] = (o.byClass[cl] || 0) + n; o.failures += n;
        });
      }
      return out;
    }
    const total = (view) => daily(view, () => 'all').all || { calls: 0, seen: 0, failures: 0, byClass: {} };

    /** Availability SLO per API over the view's window, from the daily cube (Stats.sloStatus). */
    function sloRows(view) {
      const per = daily(view, (i) => keys[P.daily.k[i]].key);
      return Object.keys(per).filter((a) => slo[a] && slo[a].availability_target !== null).map((a) => {
        const o = per[a], eligible = o.calls - (o.byClass.auth || 0);
        const bad = P.meta.availability_classes.reduce((s, c) => s + (o.byClass[c] || 0), 0);
        return Object.assign({ api: a, row: slo[a] }, Stats.sloStatus(eligible, bad, slo[a].availability_target, P.meta.slo_min_bad_calls));
      });
    }
    function versionRows(api) {
      const v = P.versions, out = [];
      if (!v) return out;
      for (let i = 0; i < v.api_name.length; i++) {
        if (v.api_name[i] !== api) continue;
        out.push({ api, version: v.api_version[i], calls: v.calls[i], p50: v.p50_latency_ms[i], p95: v.p95_latency_ms[i], p99: v.p99_latency_ms[i],
          latest: v.is_latest_version[i], regression: regressed[api + '\u0000' + v.api_version[i]] || null });
      }
      return out.sort((a, b) => Stats.versionCmp(a.version, b.version));
    }
    function histogram(scope) {
      const h = P.histogram, counts = {};
      if (!h) return counts;
      for (let i = 0; i < h.k.length; i++) if (inScope(keys[h.k[i]].key, scope)) counts[h.b[i]] = (counts[h.b[i]] || 0) + h.calls[i];
      return counts;
    }
    function errors(scope) { // [{key, reason, cls, failures}] in scope
      const e = P.errors, out = [];
      if (!e) return out;
      for (let i = 0; i < e.k.length; i++) if (inScope(keys[e.k[i]].key, scope)) out.push({ key: keys[e.k[i]].key, reason: e.reason[i], cls: e['class'][i], failures: e.failures[i] });
      return out;
    }
    /** Fields no API call carries (the rule is in SQL: payload.coverage.is_missing). */
    const isMissing = (field) => !!(P.coverage && P.coverage[field] && P.coverage[field].is_missing);
    const missingFields = () => Object.keys(P.coverage || {}).filter(isMissing);
    /** A field in words (the payload carries them, as the report uses them). */
    const fieldWord = (field) => (P.coverage && P.coverage[field] && P.coverage[field].word) || String(field).replace(/_/g, ' ');
    /** Calls the charts leave out, whole period: non-API traffic by class, API calls without a latency. */
    function leftOut() {
      const byClass = (P.left_out || []).map((r) => [r.word, r.calls]);
      const lat = (P.coverage || {}).latency_ms;
      return { nonApi: sum(byClass.map((r) => r[1])), byClass, apiCalls: lat ? lat.api_calls : null,
        noLatency: lat ? lat.api_calls - lat.calls_with_value : 0 };
    }
    return { P, keys, days, regions, classes, KEY, lat, slo, keyOf, inScope, apiInScope, scopeText, isWhole, periodText, dayIn, apis,
      daily, total, sloRows, versionRows, histogram, errors, isMissing, missingFields, fieldWord, leftOut };
  }

  /** "; 1,234 API calls without a latency left out" (whole period), or nothing. */
  function noLatencyText(D) {
    const n = D.leftOut().noLatency;
    return n ? '; ' + fmt(n) + ' API ' + (n === 1 ? 'call' : 'calls') + ' without a latency left out (whole period)' : '';
  }
  /** "; 12 calls without a region left out" for a dimension's `unknown` share of a view, or nothing. */
  function noValueText(D, n, field, unit) {
    return n ? '; ' + fmt(n) + ' ' + (unit || 'calls') + ' without a ' + D.fieldWord(field) + ' left out' : '';
  }
  /** The one line a chart is instead of a misleading one when its data lacks a field. */
  function missingNote(D, chart, fields) {
    return 'No ' + orList(fields.map(D.fieldWord)) + ' in these logs: the ' + chart.label + ' chart is left out';
  }
  /** A chart for a view: its note when the data lacks a field it needs, else its figure. */
  function figure(chart, D, view, width, options) {
    const missing = (chart.needs || []).filter(D.isMissing);
    return missing.length ? note(missingNote(D, chart, missing)) : chart.build(D, view, width, options || {});
  }

  // ------------------------------------------------------------------ charts
  function dailyVolume(D, view, width) {
    if (!D.P.daily) return note(D.P.missing.daily || 'agg_api_daily has no rows');
    const per = D.daily(view, (i) => D.days[D.P.daily.d[i]]);
    const days = Object.keys(per).sort(), calls = days.map((d) => per[d].calls), fails = days.map((d) => per[d].failures), seen = days.map((d) => per[d].seen);
    if (!days.length) return note('No calls for ' + D.scopeText(view.scope) + ', ' + D.periodText(view));
    const [drawn, blank] = Stats.drawnMask(calls);
    const rates = days.map((d, i) => drawn[i] ? fails[i] / calls[i] : null);
    const band = days.map((d, i) => drawn[i] ? Stats.wilson(fails[i], calls[i], seen[i]) : [null, null]);
    let worst = 0;
    rates.forEach((r, i) => { if ((r || 0) > (rates[worst] || 0)) worst = i; });
    const st = D.scopeText(view.scope);
    const title = 'Worst day ' + days[worst] + ': ' + pct(rates[worst]) + ' of calls failed (period ' + pct(sum(fails) / sum(calls)) + ', ' + st + ')';
    const blankNote = blank ? '; ' + plural(blank, 'day') + ' with under 5% of the median day\'s calls left blank' : '';
    const nonApi = D.leftOut().nonApi, nonApiNote = nonApi ? '; ' + fmt(nonApi) + ' calls that are not API traffic not counted (whole period)' : '';
    return {
      data: [
        { type: 'bar', name: 'calls', x: days, y: calls, marker: { color: COLOR.light }, hovertemplate: '%{x}: %{y:,} calls<extra></extra>' },
        { type: 'scatter', mode: 'lines', x: days, y: band.map((b) => b[1]), yaxis: 'y2', line: { width: 0 }, hoverinfo: 'skip', showlegend: false },
        { type: 'scatter', mode: 'lines', name: '95% interval', x: days, y: band.map((b) => b[0]), yaxis: 'y2', line: { width: 0 }, fill: 'tonexty', fillcolor: 'rgba(220,38,38,0.15)', hoverinfo: 'skip' },
        { type: 'scatter', mode: 'lines+markers', name: 'failure rate', x: days, y: rates, yaxis: 'y2', line: { color: COLOR.bad, width: 2 }, marker: { size: 5 },
          customdata: days.map((d, i) => [fails[i], calls[i]]), hovertemplate: '%{x}: %{y:.2%} failed (%{customdata[0]:,} of %{customdata[1]:,})<extra></extra>' },
      ],
      layout: layout(width, title, 'Calls per day (grey bars, left axis) and the share that failed, any class, with its Wilson 95% band (red, right axis); ' +
        st + ', ' + D.periodText(view) + blankNote + nonApiNote + ' (agg_api_daily)', 'Day (UTC)', 'Calls per day', {
        yaxis2: { title: { text: RATE_AXIS }, overlaying: 'y', side: 'right', tickformat: '.0%', rangemode: 'tozero', showgrid: false, automargin: true },
        // a few days get one tick a day (plotly would show hours, as if the bars were hourly)
        yaxis: { rangemode: 'tozero' }, xaxis: days.length <= 14 ? { type: 'date', dtick: 86400000, tickformat: '%b %-d' } : { type: 'date' }, margin: { r: 60 },
      }),
    };
  }

  function sloBurn(D, view, width) {
    if (!D.P.slo) return note(D.P.missing.slo || 'agg_slo_status not built');
    if (!D.P.daily) return note(D.P.missing.daily || 'agg_api_daily not built');
    const rows = D.sloRows(view).filter((r) => D.apiInScope(r.api, view.scope));
    if (!rows.length) return note('No API with an availability SLO has calls in ' + D.scopeText(view.scope) + ', ' + D.periodText(view));
    const ranked = rows.slice().sort((a, b) => (b.bad - b.budget) - (a.bad - a.budget) || (a.api < b.api ? -1 : 1)).slice(0, 15).reverse();
    const names = ranked.map((r) => pt(r.api));
    const breached = rows.filter((r) => r.breached), sig = rows.filter((r) => r.significant);
    const colour = (r) => r.significant ? COLOR.bad : (r.breached || r.atRisk) ? COLOR.warn : COLOR.ok;
    const atEnd = D.isWhole(view) || view.to >= D.days[D.days.length - 1];
    const data = [{
      type: 'bar', orientation: 'h', y: names, x: ranked.map((r) => r.consumed), name: 'error budget burnt (' + D.periodText(view) + ')',
      marker: { color: ranked.map(colour) }, xaxis: 'x', yaxis: 'y',
      customdata: ranked.map((r) => [r.bad, Math.round(10 * r.budget) / 10, pct(r.availability, 2), pct(r.row.availability_target, 2)]),
      hovertemplate: '%{y}: %{x:.2f}x the budget (%{customdata[0]} bad calls vs %{customdata[1]} allowed); availability %{customdata[2]} vs target %{customdata[3]}<extra></extra>',
    }];
    if (atEnd) {
      data.push({ type: 'scatter', mode: 'markers', y: names, x: ranked.map((r) => r.row.burn_rate_6h), name: 'burn rate, last 6 h of data',
        marker: { symbol: 'diamond', size: 9, color: COLOR.ink }, hovertemplate: '%{y}: burning %{x:.1f}x over the last 6 h<extra></extra>' });
    }
    data.push({ type: 'bar', orientation: 'h', y: names, x: ranked.map((r) => r.row.latency_good_rate), xaxis: 'x2', yaxis: 'y', name: 'calls within latency SLO (whole period)',
      marker: { color: ranked.map((r) => r.row.is_latency_slo_attained ? COLOR.ok : COLOR.bad) },
      customdata: ranked.map((r) => [ms(r.row.latency_slo_ms), pct(r.row.latency_target, 0)]),
      hovertemplate: '%{y}: %{x:.1%} of successful calls within %{customdata[0]} (target %{customdata[1]})<extra></extra>' });
    const worst = ranked[ranked.length - 1];
    const title = rows.length === 1
      ? worst.api + (worst.significant ? ' misses its availability SLO beyond doubt' : worst.breached ? ' is over its error budget (within noise)' : ' meets its availability SLO') +
        ': ' + (worst.consumed || 0).toFixed(1) + 'x its error budget, ' + D.periodText(view)
      : sig.length + ' of ' + rows.length + ' APIs miss their availability SLO beyond doubt, ' + breached.length + ' are over budget (' + D.periodText(view) + '); ' +
        worst.api + ' burnt ' + (worst.consumed || 0).toFixed(1) + 'x its budget';
    const target = ranked.map((r) => r.row.latency_target).filter((t) => t !== null)[0];
    const shapes = [{ type: 'line', xref: 'x', yref: 'paper', x0: 1, x1: 1, y0: 0, y1: 1, line: { color: COLOR.ink, dash: 'dash', width: 1.5 } }];
    if (target !== undefined) shapes.push({ type: 'line', xref: 'x2', yref: 'paper', x0: target, x1: target, y0: 0, y1: 1, line: { color: COLOR.ink, dash: 'dash', width: 1.5 } });
    return {
      data,
      layout: layout(width, title, 'Left: error budget burnt (bad calls / allowed bad calls; dashed line = exactly on budget), recomputed for ' +
        D.periodText(view) + ' from daily counts, for the ' + plural(ranked.length, 'API') + ' of ' + D.scopeText(view.scope) + ' furthest over budget in calls; ' +
        'red = over budget beyond doubt, amber = over budget within noise or close to it, green = within budget' +
        (atEnd ? '; diamonds: burn rate over the last 6 h of data' : '') + '. Right: successful calls answered within the latency SLO, whole period ' +
        '(the marts keep no per-day latency count), dashed = target (agg_slo_status, agg_api_daily)', '', '', {
        height: 230 + 26 * ranked.length,
        xaxis: { domain: [0, 0.6], title: { text: width < 600 ? 'Budget burnt (x)' : 'Error budget burnt (x budget)' }, rangemode: 'tozero', gridcolor: '#e2e8f0', automargin: true },
        xaxis2: { domain: [0.68, 1], title: { text: width < 600 ? 'Latency SLO' : 'Within latency SLO' }, tickformat: '.0%', range: [0, 1], nticks: width < 600 ? 3 : undefined, gridcolor: '#e2e8f0', automargin: true, anchor: 'y' },
        yaxis: { title: { text: '' }, categoryorder: 'array', categoryarray: names, automargin: true }, shapes, barmode: 'overlay',
      }),
    };
  }

  /** Horizontal dot plot of rates with Wilson whiskers; `bad` marks the points drawn red. */
  function dotPlot(labels, rates, bounds, bad, name, custom, hover) {
    return {
      type: 'scatter', mode: 'markers', name, y: labels, x: rates,
      marker: { size: 12, color: labels.map((l, i) => bad[i] ? COLOR.bad : COLOR.accent) },
      error_x: { type: 'data', symmetric: false, array: bounds.map((b, i) => b[1] === null ? null : b[1] - rates[i]),
        arrayminus: bounds.map((b, i) => b[0] === null ? null : rates[i] - b[0]), color: COLOR.ink, thickness: 1.5, width: 6 },
      customdata: custom, hovertemplate: hover,
    };
  }

  function successByRegion(D, view, width) {
    if (!D.P.daily) return note(D.P.missing.daily || 'agg_api_daily not built');
    const per = D.daily(view, (i) => D.regions[D.P.daily.r[i]]);
    const regions = D.regions.filter((r) => r !== NO_VALUE && per[r] && per[r].calls), unplaced = (per[NO_VALUE] || {}).calls || 0;
    if (!regions.length) return note((unplaced ? 'No call of ' : 'No calls for ') + D.scopeText(view.scope) + ', ' + D.periodText(view) + (unplaced ? ' has a region' : ''));
    const calls = regions.map((r) => per[r].calls), succ = regions.map((r) => per[r].calls - per[r].failures);
    const rates = regions.map((r, i) => succ[i] / calls[i]), bounds = regions.map((r, i) => Stats.wilson(succ[i], calls[i], per[r].seen));
    // best: the region surest to succeed (highest lower bound); worst: the one surest to fail
    // (lowest upper bound). By rate alone, a region of 20 calls with 3 failures led the title
    const lows = bounds.map((b) => b[0]), highs = bounds.map((b) => b[1]);
    const best = lows.indexOf(Math.max.apply(null, lows)), worst = highs.indexOf(Math.min.apply(null, highs));
    const below = regions.map((r, i) => bounds[i][1] < bounds[best][0]); // interval wholly below the best region's
    const title = regions.length < 2 ? regions[0] + ': ' + pct(rates[0]) + ' of calls succeed'
      : regions[worst] + ' succeeds least: ' + pct(rates[worst]) + ' vs ' + regions[best] + ' ' + pct(rates[best]) +
        (below[worst] ? ' (beyond chance: the intervals do not overlap)' : ' (within noise: the intervals overlap)');
    const labels = regions.map(pt).reverse();
    const rev = (xs) => xs.slice().reverse();
    return {
      data: [dotPlot(labels, rev(rates), rev(bounds), rev(below), 'success rate', rev(regions.map((r, i) => [calls[i], pct(bounds[i][0], 2), pct(bounds[i][1], 2)])),
        '%{y}: %{x:.2%} of %{customdata[0]:,} calls succeeded<br>95% interval %{customdata[1]} to %{customdata[2]}<extra></extra>')],
      layout: layout(width, title, 'Share of calls that succeeded (any failure class counts as a failure), dots with Wilson 95% intervals; red: interval wholly below the best region\'s; ' +
        D.scopeText(view.scope) + ', ' + D.periodText(view) + noValueText(D, unplaced, 'region') + ' (agg_api_daily)', 'Calls that succeeded', '', {
        showlegend: false, xaxis: { tickformat: '.1%' }, yaxis: { title: { text: '' } }, height: 200 + 50 * regions.length,
      }),
    };
  }

  function conversionByRegion(D, view, width) {
    const rows0 = D.P.conversion;
    if (!rows0) return note(D.P.missing.conversion || 'agg_conversion_by_region not built');
    const order = (r) => { const i = D.regions.indexOf(r.region); return i < 0 ? 99 : i; };
    const rows = rows0.filter((r) => r.verifications > 0 && r.region !== NO_VALUE).sort((a, b) => order(a) - order(b));
    const unplaced = sum(rows0.filter((r) => r.region === NO_VALUE).map((r) => r.verifications));
    if (!rows.length) return note(unplaced ? 'No verification has a region' : 'No verifications in the warehouse');
    const labels = rows.map((r) => pt(r.region)).reverse(), rs = rows.slice().reverse();
    const series = [['first_attempt', 'passed at the first attempt', 'circle-open'], ['eventual', 'passed eventually (after retries)', 'circle']];
    const data = series.map((s) => ({
      type: 'scatter', mode: 'markers', name: s[1], y: labels, x: rs.map((r) => r[s[0] + '_pass_rate']),
      marker: { size: 12, symbol: s[2], color: COLOR.accent, line: { width: 2, color: COLOR.accent } },
      error_x: { type: 'data', symmetric: false, array: rs.map((r) => r[s[0] + '_pass_rate_ci_upper'] - r[s[0] + '_pass_rate']),
        arrayminus: rs.map((r) => r[s[0] + '_pass_rate'] - r[s[0] + '_pass_rate_ci_lower']), color: COLOR.ink, thickness: 1.2, width: 5 },
      customdata: rs.map((r) => r.verifications), hovertemplate: '%{y}: %{x:.1%} of %{customdata:,} verifications ' + s[1] + '<extra></extra>',
    }));
    const by = (k) => rows.slice().sort((a, b) => (a[k] || 0) - (b[k] || 0));
    // surest to pass least (lowest upper bound) and most (highest lower bound), as the success chart
    const lo = by('first_attempt_pass_rate_ci_upper')[0], hi = by('first_attempt_pass_rate_ci_lower')[rows.length - 1];
    const title = rows.length < 2 ? lo.region + ': ' + pct(lo.first_attempt_pass_rate) + ' pass at the first attempt'
      : lo.region + ' users pass least at the first attempt (' + pct(lo.first_attempt_pass_rate) + ' vs ' + hi.region + ' ' + pct(hi.first_attempt_pass_rate) +
        '); retries lift them to ' + pct(lo.eventual_pass_rate);
    return {
      data,
      layout: layout(width, title, 'End-user verifications (all attempts of one verification) that passed at the first attempt and eventually, Wilson 95% intervals. ' +
        'All APIs, whole period, whatever the filters: a verification spans several APIs and the mart has no date' + noValueText(D, unplaced, 'region', 'verifications') + ' (agg_conversion_by_region)',
        'Verifications passed', '', { xaxis: { tickformat: '.0%' }, yaxis: { title: { text: '' } }, height: 220 + 50 * rows.length }),
    };
  }

  function latencyDistribution(D, view, width) {
    if (!D.P.histogram) return note(D.P.missing.histogram || 'agg_latency_histogram_by_api has no rows');
    const h = D.P.histogram, per = h.per_decade;
    const names = D.apis(view.scope).filter((a) => D.lat[a]).slice(0, CHART_APIS).reverse();
    if (!names.length) return note('No latency histogram for ' + D.scopeText(view.scope));
    const data = [];
    names.forEach((name, i) => {
      const counts = D.histogram('api:' + name), rows = Object.keys(counts).map(Number).sort((a, b) => a - b);
      if (!rows.length) return;
      const total = sum(rows.map((b) => counts[b])), share = rows.map((b) => counts[b] / total), peak = Math.max.apply(null, share);
      const xs = rows.map((b) => Math.pow(10, b / per)).concat([Math.pow(10, (rows[rows.length - 1] + 1) / per)]);
      const ys = share.map((s) => i + 0.85 * s / peak).concat([i + 0.85 * share[share.length - 1] / peak]);
      const color = SERIES[(names.length - 1 - i) % SERIES.length];
      data.push({ type: 'scatter', x: [xs[0], xs[xs.length - 1]], y: [i, i], mode: 'lines', line: { width: 0.5, color: '#94a3b8' }, hoverinfo: 'skip', showlegend: false });
      data.push({ type: 'scatter', x: xs, y: ys, mode: 'lines', line: { shape: 'hv', color, width: 1.5 }, fill: 'tonexty', fillcolor: rgba(color, 0.2), name: pt(name), showlegend: false,
        customdata: share.map((s) => Math.round(10000 * s) / 100).concat([null]), hovertemplate: pt(name) + '<br>%{x:.0f} ms and up: %{customdata}% of calls<extra></extra>' });
    });
    [['p50', 'circle'], ['p95', 'diamond'], ['p99', 'x-thin-open']].forEach((m) => {
      data.push({ type: 'scatter', mode: 'markers', name: m[0] + ' (exact)', x: names.map((n) => D.lat[n][m[0]]), y: names.map((n, i) => i),
        marker: { symbol: m[1], size: 10, color: COLOR.ink, line: { width: 2, color: COLOR.ink } }, customdata: names.map(pt),
        hovertemplate: '%{customdata} ' + m[0] + ': %{x:.0f} ms (exact)<extra></extra>' });
    });
    const slow = names.slice().sort((a, b) => D.lat[b].p99 - D.lat[a].p99)[0], fast = names.slice().sort((a, b) => D.lat[a].p50 - D.lat[b].p50)[0];
    const title = names.length === 1 ? slow + ': p50 ' + ms(D.lat[slow].p50) + ', p95 ' + ms(D.lat[slow].p95) + ', p99 ' + ms(D.lat[slow].p99)
      : slow + ' has the slowest tail (p99 ' + ms(D.lat[slow].p99) + '); ' + fast + ' answers fastest (p50 ' + ms(D.lat[fast].p50) + ')';
    const which = names.length === 1 ? names[0] : 'the ' + names.length + ' busiest APIs of ' + D.scopeText(view.scope);
    return {
      data,
      layout: layout(width, title, 'Share of calls per latency bucket for ' + which + '; markers: exact p50 / p95 / p99. Whole period whatever the date filter: ' +
        'percentiles cannot be merged across days and the histogram mart has no date' + noLatencyText(D) + ' (agg_latency_histogram_by_api, agg_latency_by_api)', 'Latency (ms, log scale)', '', {
        height: 230 + 48 * names.length, xaxis: { type: 'log' },
        yaxis: { tickvals: names.map((n, i) => i), ticktext: names.map(pt), range: [-0.4, names.length + 0.1], gridcolor: '#f1f5f9', title: { text: '' } },
      }),
    };
  }

  function latencyFocus(D, scope) {
    const candidates = (D.P.daily_latency_apis || []).filter((a) => D.apiInScope(a, scope));
    if (!candidates.length) return [null, ''];
    if (scope.indexOf('api:') === 0) return [candidates[0], 'the selected API'];
    const regressedApi = candidates.filter((a) => D.versionRows(a).some((v) => v.regression && v.regression.is_latency_regression))[0];
    return regressedApi ? [regressedApi, 'its latest version regressed'] : [candidates[0], 'busiest API'];
  }

  function latencyOverTime(D, view, width, options) {
    const L = D.P.daily_latency;
    if (!L) return note(D.P.missing.daily || 'agg_api_daily not built');
    const [api, why] = latencyFocus(D, view.scope);
    if (!api) return note('No daily latency series for ' + D.scopeText(view.scope) + ': exact daily percentiles are embedded for the busiest APIs only (see the latency distribution)');
    const ai = D.P.daily_latency_apis.indexOf(api), byRegion = {};
    let rows = [];
    for (let i = 0; i < L.d.length; i++) if (L.a[i] === ai) { rows.push(i); byRegion[D.regions[L.r[i]]] = (byRegion[D.regions[L.r[i]]] || 0) + L.calls[i]; }
    let region = options && options.region;
    if (!region || !byRegion[region]) region = Object.keys(byRegion).sort((a, b) => byRegion[b] - byRegion[a])[0] || D.regions[0];
    rows = rows.filter((i) => D.regions[L.r[i]] === region && D.dayIn(D.days[L.d[i]], view));
    const where = region === NO_VALUE ? 'calls without a region' : region;
    const vrows = D.versionRows(api), reg = {};
    vrows.forEach((v) => { reg[v.version] = v.regression; });
    const versions = [];
    rows.forEach((i) => { if (versions.indexOf(L.v[i]) < 0) versions.push(L.v[i]); });
    versions.sort(Stats.versionCmp);
    const data = [];
    versions.forEach((version, vi) => {
      const part = rows.filter((i) => L.v[i] === version).sort((a, b) => L.d[a] - L.d[b]);
      const color = reg[version] ? COLOR.bad : SERIES[vi % SERIES.length];
      const label = pt(version) + (reg[version] ? ' (regressed)' : '');
      [['p50', 'dot', 1.5], ['p95', 'solid', 2.5], ['p99', 'dash', 1.5]].forEach((s) => {
        data.push({ type: 'scatter', mode: 'lines+markers', name: label + ' ' + s[0], legendgroup: label, x: part.map((i) => D.days[L.d[i]]), y: part.map((i) => L[s[0]][i]),
          line: { color, dash: s[1], width: s[2] }, marker: { size: 4 }, customdata: part.map((i) => L.calls[i]),
          hovertemplate: pt(api) + ' ' + pt(version) + ' ' + pt(where) + ' %{x}: ' + s[0] + ' %{y:,} ms (%{customdata} calls)<extra></extra>' });
      });
    });
    let title = api + ': how do p50, p95 and p99 move day by day?';
    const bad = vrows.filter((v) => v.regression && v.regression.is_latency_regression)[0];
    if (bad) title = api + ' ' + bad.version + ' regressed: p95 ' + ms(bad.p95) + ' vs ' + ms(vrows[vrows.indexOf(bad) - 1] ? vrows[vrows.indexOf(bad) - 1].p95 : null) +
      ' on ' + bad.regression.previous_version + ' (' + (bad.regression.p95_latency_ratio || 0).toFixed(1) + 'x, whole period)';
    return {
      data,
      layout: layout(width, title, api + ' (' + why + ') in ' + where + ': daily p50 (dotted), p95 (solid), p99 (dashed) per version (red: the regressed version), exact per day x version x region; ' +
        'days under ' + D.P.meta.min_series_calls + ' calls not drawn, p99 only from ' + D.P.meta.min_p99_calls + ' calls; ' + D.periodText(view) + noLatencyText(D) + ' (agg_api_daily)',
        'Day (UTC)', 'Latency (ms)', { xaxis: { type: 'date' }, yaxis: { rangemode: 'tozero' }, meta: { api: pt(api), region: pt(where) } }),
    };
  }

  function latencyByVersion(D, view, width) {
    if (!D.P.versions) return note(D.P.missing.versions || 'agg_latency_by_api_version not built');
    const shown = D.apis(view.scope).filter((a) => D.versionRows(a).length > 1).slice(0, CHART_APIS);
    const single = D.apis(view.scope).filter((a) => D.versionRows(a).length === 1).slice(0, 1);
    const apis = shown.length ? shown : single;
    if (!apis.length) return note('No version latency for ' + D.scopeText(view.scope));
    const rows = [];
    apis.forEach((a) => D.versionRows(a).forEach((v) => rows.push(v)));
    const labels = rows.map((v) => pt(v.api) + ' ' + pt(v.version) + (v.regression ? ' (regressed)' : '')).reverse(), rs = rows.slice().reverse();
    const bad = rows.filter((v) => v.regression && v.regression.is_latency_regression);
    const title = bad.length ? bad.map((v) => v.api + ' ' + v.version).join(', ') + (bad.length === 1 ? ' is' : ' are') + ' slower than the version before: ' +
      (bad[0].regression.p95_latency_ratio || 0).toFixed(1) + 'x at p95' : 'No version is significantly slower than the one before it (' + D.scopeText(view.scope) + ')';
    return {
      data: [{ type: 'bar', orientation: 'h', y: labels, x: rs.map((v) => v.p95), marker: { color: rs.map((v) => v.regression ? COLOR.bad : COLOR.neutral) }, name: 'p95',
        customdata: rs.map((v) => [v.calls, v.p50, v.latest ? 'latest' : 'older']),
        hovertemplate: '%{y} (%{customdata[2]}): p95 %{x:,.0f} ms, p50 %{customdata[1]:,.0f} ms, %{customdata[0]:,} calls<extra></extra>' }],
      layout: layout(width, title, 'Exact p95 latency per API version, red = a regression found by rca_version_regressions (latency or failures, significant after FDR control); ' +
        (shown.length ? 'APIs with several versions among ' + D.scopeText(view.scope) : D.scopeText(view.scope)) +
        '; whole period whatever the date filter: percentiles cannot be merged across days' + noLatencyText(D) + ' (agg_latency_by_api_version)', 'p95 latency (ms)', '', {
        showlegend: false, xaxis: { rangemode: 'tozero' }, yaxis: { title: { text: '' }, automargin: true }, height: 200 + 24 * rows.length,
      }),
    };
  }

  function errorReasons(D, view, width) {
    if (!D.P.errors) return note(D.P.missing.errors || 'agg_error_reasons_by_api not built');
    const rows = D.errors(view.scope).filter((r) => D.KEY[r.key].is_api || view.scope === 'unknown');
    if (!rows.length) return note('No failures for ' + D.scopeText(view.scope) + ' in agg_error_reasons_by_api');
    const perApi = {}, cell = {}, reasonTotal = {}, reasonClass = {};
    rows.forEach((r) => { perApi[r.key] = (perApi[r.key] || 0) + r.failures; });
    const apis = Object.keys(perApi).sort((a, b) => perApi[b] - perApi[a] || (a < b ? -1 : 1)).slice(0, 10);
    rows.filter((r) => apis.indexOf(r.key) >= 0).forEach((r) => {
      cell[r.key + '\u0000' + r.reason] = (cell[r.key + '\u0000' + r.reason] || 0) + r.failures;
      reasonTotal[r.reason] = (reasonTotal[r.reason] || 0) + r.failures; reasonClass[r.reason] = r.cls;
    });
    const rank = (c) => { const r = D.classes.indexOf(c); return r < 0 ? 99 : r; };
    const reasons = Object.keys(reasonTotal).sort((a, b) => rank(reasonClass[a]) - rank(reasonClass[b]) || reasonTotal[b] - reasonTotal[a] || (a < b ? -1 : 1));
    const n = (a, r) => cell[a + '\u0000' + r] || 0;
    const z = apis.map((a) => reasons.map((r) => n(a, r) / perApi[a]));
    const label = (a) => a === 'unknown' ? 'likely misspelt names' : a;
    const top = apis[0], topReason = reasons.slice().sort((a, b) => n(top, b) - n(top, a))[0];
    const shapes = [], notes = [];
    let start = 0;
    for (let i = 1; i <= reasons.length; i++) {
      if (i === reasons.length || reasonClass[reasons[i]] !== reasonClass[reasons[start]]) {
        notes.push({ x: (start + i - 1) / 2, y: 1, xref: 'x', yref: 'paper', yanchor: 'bottom', text: pt(human(reasonClass[reasons[start]])), showarrow: false, font: { size: 11, color: COLOR.muted } });
        if (i < reasons.length) shapes.push({ type: 'line', xref: 'x', yref: 'paper', x0: i - 0.5, x1: i - 0.5, y0: 0, y1: 1.06, line: { color: COLOR.ink, width: 2 } });
        start = i;
      }
    }
    return {
      data: [{ type: 'heatmap', x: reasons.map((r) => pt(human(r))), y: apis.map((a) => pt(label(a))), z,
        text: z.map((row) => row.map((v) => !v ? '' : v < 0.005 ? '<1%' : (100 * v).toFixed(0) + '%')), texttemplate: '%{text}', textfont: { size: 11 },
        colorscale: [[0, '#ffffff'], [0.15, '#fee2e2'], [1, '#991b1b']], zmin: 0, zmax: 1,
        colorbar: { title: { text: 'share of the<br>API\'s failures' }, tickformat: '.0%', len: 0.9 },
        customdata: apis.map((a) => reasons.map((r) => [fmt(n(a, r)), pt(human(reasonClass[r]))])),
        hovertemplate: '%{y} · %{x} (%{customdata[1]}): %{customdata[0]} failures, %{z:.1%} of the API\'s failures<extra></extra>', xgap: 1, ygap: 1 }],
      layout: layout(width, label(top) + ' fails most, mostly on ' + human(topReason) + ': ' + pct(n(top, topReason) / perApi[top]) + ' of its ' + fmt(perApi[top]) + ' failures',
        'Each cell: share of that API\'s failures with this reason (the number printed is the colour; counts on hover); reasons grouped by failure class; the ' +
        plural(apis.length, 'API') + ' of ' + D.scopeText(view.scope) + ' with most failures. Whole period whatever the date filter: the mart has no date (agg_error_reasons_by_api)',
        'Error reason, grouped by failure class', '', {
          height: 280 + 30 * apis.length, xaxis: { tickangle: -30, gridcolor: 'rgba(0,0,0,0)' }, yaxis: { autorange: 'reversed', gridcolor: 'rgba(0,0,0,0)' },
          shapes, annotations: notes, showlegend: false, title: { pad: { b: 30 } },
        }),
    };
  }

  function failureByDocument(D, view, width) {
    const rows0 = D.P.documents;
    if (!rows0) return note(D.P.missing.documents || 'agg_failure_by_document_type not built');
    // surest to fail most first (highest lower bound): by rate, a document type of 19 calls led
    const rows = rows0.filter((r) => r.calls > 0).sort((a, b) => (b.failure_rate_ci_lower || 0) - (a.failure_rate_ci_lower || 0) ||
      (b.failure_rate || 0) - (a.failure_rate || 0));
    if (!rows.length) return note('No calls in agg_failure_by_document_type');
    const all = sum(rows.map((r) => r.failures)) / sum(rows.map((r) => r.calls));
    const above = rows.map((r) => r.failure_rate_ci_lower > all);
    const top = rows[0];
    return {
      data: [{ type: 'bar', x: rows.map((r) => pt(r.document_type)), y: rows.map((r) => r.failure_rate), marker: { color: above.map((a) => a ? COLOR.bad : COLOR.neutral) },
        error_y: { type: 'data', symmetric: false, array: rows.map((r) => r.failure_rate_ci_upper - r.failure_rate), arrayminus: rows.map((r) => r.failure_rate - r.failure_rate_ci_lower),
          color: COLOR.ink, thickness: 1.5, width: 8 },
        customdata: rows.map((r) => [r.calls, r.failures]), hovertemplate: '%{x}: %{customdata[1]:,} of %{customdata[0]:,} calls failed (%{y:.2%})<extra></extra>' }],
      layout: layout(width, top.document_type + ' documents fail most: ' + pct(top.failure_rate) + ' (95% interval ' + pct(top.failure_rate_ci_lower) + ' to ' + pct(top.failure_rate_ci_upper) + ')',
        'Failure rate per identity document, any failure class, Wilson 95% intervals; red: interval wholly above the all-document rate (' + pct(all) + ', dashed). ' +
        'All APIs, whole period whatever the filters: the mart has no API or date (agg_failure_by_document_type)', 'Document type', RATE_AXIS, {
          showlegend: false, yaxis: { tickformat: '.0%', rangemode: 'tozero' },
          shapes: [{ type: 'line', xref: 'paper', yref: 'y', x0: 0, x1: 1, y0: all, y1: all, line: { color: COLOR.ink, dash: 'dash', width: 1 } }],
        }),
    };
  }

  function fragileDocuments(D, view, width) {
    const rows0 = D.P.fragile;
    if (!rows0) return note(D.P.missing.fragile || 'rca_fragile_document_types not built');
    if (!rows0.length) return note('No API x document pair has enough calls to compare');
    const rows = rows0.slice().reverse(), y = rows.map((r) => pt(r.api_name) + ' × ' + pt(r.document_type));
    const sig = rows0.filter((r) => r.is_significant);
    const data = [{ type: 'scatter', mode: 'markers', name: 'the API on its other documents', y, x: rows.map((r) => r.other_documents_failure_rate),
      marker: { symbol: 'line-ns-open', size: 16, line: { width: 3, color: COLOR.neutral }, color: COLOR.neutral },
      hovertemplate: '%{y}: the API fails %{x:.1%} on its other documents<extra></extra>' },
    dotPlot(y, rows.map((r) => r.failure_rate), rows.map((r) => [r.failure_rate_ci_lower, r.failure_rate_ci_upper]), rows.map((r) => r.is_significant),
      'this document (red: fragile, significant after FDR)', rows.map((r) => [r.failures, r.calls, pt(human(r.dominant_error_reason || ''))]),
      '%{y}: %{customdata[0]:,} of %{customdata[1]:,} calls failed (%{x:.1%}), mostly %{customdata[2]}<extra></extra>')];
    const t = sig.length ? sig.slice().sort((a, b) => (b.excess_failures || 0) - (a.excess_failures || 0))[0] : null;
    const title = t ? t.api_name + ' fails ' + pct(t.failure_rate) + ' on ' + t.document_type + ' vs ' + pct(t.other_documents_failure_rate) + ' on its other documents (mostly ' +
      human(t.dominant_error_reason) + '); ' + plural(sig.length, 'fragile pair') : 'No API x document type pair fails more than its API and document predict';
    return {
      data,
      layout: layout(width, title, 'Failure rate of each API x document type pair with its 95% interval, against the same API on its other documents; pairs with the most excess failures. ' +
        'All APIs, whole period whatever the filters: the mart has no date (rca_fragile_document_types)', RATE_AXIS, '', {
        height: 200 + 34 * rows.length, xaxis: { tickformat: '.0%', rangemode: 'tozero' }, yaxis: { title: { text: '' }, categoryorder: 'array', categoryarray: y },
      }),
    };
  }

  function failureConcentration(D, view, width) {
    if (!D.P.daily) return note(D.P.missing.daily || 'agg_api_daily not built');
    const per = D.daily(view, (i) => D.regions[D.P.daily.r[i]]);
    const regions = D.regions.filter((r) => r !== NO_VALUE && per[r] && per[r].calls), unplaced = (per[NO_VALUE] || {}).calls || 0;
    if (!regions.length && unplaced) return note('No call of ' + D.scopeText(view.scope) + ', ' + D.periodText(view) + ' has a region');
    const calls = sum(regions.map((r) => per[r].calls)), fails = sum(regions.map((r) => per[r].failures));
    if (!calls || !fails) return note('No failures for ' + D.scopeText(view.scope) + ', ' + D.periodText(view) + ': nothing to concentrate');
    const shareCalls = regions.map((r) => per[r].calls / calls), shareFails = regions.map((r) => per[r].failures / fails);
    const ratio = regions.map((r, i) => shareFails[i] / shareCalls[i]);
    // the region carrying the most failures beyond its share of calls (by ratio alone, a region
    // of 25 calls with 4 failures led the title)
    const excess = regions.map((r, i) => shareFails[i] - shareCalls[i]);
    const w = excess.indexOf(Math.max.apply(null, excess)), x = regions.map(pt);
    return {
      data: [
        { type: 'bar', name: 'share of calls', x, y: shareCalls, marker: { color: COLOR.light }, hovertemplate: '%{x}: %{y:.1%} of calls<extra></extra>' },
        { type: 'bar', name: 'share of failures (red: over 1.2x its share of calls)', x, y: shareFails, marker: { color: ratio.map((q) => q > 1.2 ? COLOR.bad : COLOR.neutral) },
          text: ratio.map((q) => q.toFixed(2) + 'x'), textposition: 'outside', cliponaxis: false, hovertemplate: '%{x}: %{y:.1%} of failures<extra></extra>' },
      ],
      layout: layout(width, regions[w] + ' carries ' + pct(shareFails[w]) + ' of failures on ' + pct(shareCalls[w]) + ' of calls (' + ratio[w].toFixed(2) + 'x its share)',
        'Each region\'s share of failures against its share of calls; label: the ratio of the two; ' + D.scopeText(view.scope) + ', ' + D.periodText(view) +
        noValueText(D, unplaced, 'region') + ' (agg_api_daily)',
        'Caller region', 'Share of the total', { yaxis: { tickformat: '.0%', rangemode: 'tozero' }, barmode: 'group' }),
    };
  }

  function hourlySeries(D, scope) {
    const H = D.P.hourly, idx = [];
    if (scope === 'all') return [H.series.map((s, j) => j), 'all APIs'];
    if (scope.indexOf('api:') === 0 && H.series.indexOf(scope.slice(4)) >= 0) return [[H.series.indexOf(scope.slice(4))], scope.slice(4)];
    const fam = scope === 'unknown' ? 'UNKNOWN' : scope.indexOf('family:') === 0 ? scope.slice(7) : (D.KEY[scope.slice(4)] || {}).family;
    H.series.forEach((s, j) => { if (H.series_family[j] === fam && (s.indexOf('family:') === 0 || scope.indexOf('family:') === 0)) idx.push(j); });
    const what = fam + ' family' + (scope.indexOf('api:') === 0 ? ' APIs outside the busiest (no hourly series of its own for ' + scope.slice(4) + ')' : '');
    return [idx, what];
  }

  function incidentTimeline(D, view, width) {
    const H = D.P.hourly;
    if (!H) return note(D.P.missing.hourly || 'agg_api_hourly has no rows');
    const [idx, covered] = hourlySeries(D, view.scope), wanted = {}, n = H.hours.length;
    idx.forEach((k) => { wanted[k] = true; });
    const calls = new Array(n).fill(0), fails = new Array(n).fill(0), plat = new Array(n).fill(0);
    for (let i = 0; i < H.h.length; i++) if (wanted[H.s[i]]) { calls[H.h[i]] += H.calls[i]; fails[H.h[i]] += H.failures[i]; plat[H.h[i]] += H.platform_failures[i]; }
    const hours = [];
    for (let i = 0; i < n; i++) if (D.dayIn(H.hours[i].slice(0, 10), view)) hours.push(i);
    if (!hours.length) return note('No hourly data for ' + D.periodText(view));
    const x = hours.map((h) => H.hours[h]);
    const [drawn, blank] = Stats.drawnMask(hours.map((h) => calls[h]));
    const rate = hours.map((h, j) => drawn[j] ? fails[h] / calls[h] : null), prate = hours.map((h, j) => drawn[j] ? plat[h] / calls[h] : null);
    const t0 = Date.parse(x[0].replace(' ', 'T') + 'Z'), t1 = Date.parse(x[x.length - 1].replace(' ', 'T') + 'Z') + 3600e3;
    const minWidth = (t1 - t0) * 0.006; // a 2-hour incident stays visible at month scale
    const iso = (t) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
    const windows = (D.P.incidents || []).filter((r) => r.started_at && D.apiInScope(r.api_name, view.scope)).map((r) => {
      const s = Date.parse(String(r.started_at).replace(' ', 'T').slice(0, 19) + 'Z'), e0 = r.ended_at ? Date.parse(String(r.ended_at).replace(' ', 'T').slice(0, 19) + 'Z') : s + 3600e3; // ends at the end of its last hour
      const pad = Math.max(0, (minWidth - (e0 - s)) / 2);
      // the end says its day when it is not the start's (10-16 20:00 to 10-18 12:00)
      const start = String(r.started_at), end = String(r.ended_at || '');
      const until = end.slice(0, 10) === start.slice(0, 10) ? end.slice(11, 16) : end.slice(5, 16);
      return { s: s - pad, e: e0 + pad, size: Math.abs(r.excess_failures || 0), label: r.api_name + ': ' + (r.metric === 'slow_call_share' ? 'slow calls' : human(r.dominant_error_reason || r.finding_type)) + ', ' + start.slice(5, 16) + ' to ' + until };
    }).filter((w) => w.e >= t0 && w.s <= t1);
    // labels for the largest few only (by excess failures): more overlap into noise; the table lists every one
    const labelled = windows.slice().sort((a, b) => b.size - a.size).slice(0, MAX_TIMELINE_LABELS).sort((a, b) => a.s - b.s);
    let worst = null;
    hours.forEach((h, j) => { const v = calls[h] >= 20 ? (prate[j] || 0) : 0; if (worst === null || v > (calls[hours[worst]] >= 20 ? (prate[worst] || 0) : 0)) worst = j; });
    let title = (worst !== null && prate[worst]) ? 'Worst hour ' + x[worst] + ' UTC: ' + pct(prate[worst]) + ' of calls failed on the platform side (' + covered + ')'
      : 'No server or timeout failure for ' + covered + ', ' + D.periodText(view);
    if (D.P.incidents) title += '; ' + plural(windows.length, 'incident') + ' marked' + (labelled.length < windows.length ? ' (the ' + labelled.length + ' largest labelled)' : '');
    return {
      data: [
        { type: 'scatter', mode: 'lines', name: 'any failure', x, y: rate, line: { color: '#94a3b8', width: 1 }, customdata: hours.map((h) => calls[h]),
          hovertemplate: '%{x}: %{y:.1%} of %{customdata:,} calls failed<extra></extra>' },
        { type: 'scatter', mode: 'lines', name: 'server or timeout (the platform\'s fault)', x, y: prate, line: { color: COLOR.bad, width: 1.5 }, customdata: hours.map((h) => plat[h]),
          hovertemplate: '%{x}: %{y:.1%} failed on the platform side (%{customdata:,} calls)<extra></extra>' },
      ],
      layout: layout(width, title, 'Hourly share of calls that failed: any class (grey) and server or timeout only (red); shaded red: incidents from rca_incidents, found hour by hour or over runs of days (widened to stay visible); ' +
        covered + ', ' + D.periodText(view) + (H.is_truncated ? ', last ' + D.P.meta.max_hourly_days + ' days only' : '') +
        (blank ? '; ' + plural(blank, 'hour') + ' with under 5% of the median hour\'s calls left blank' : '') + ' (agg_api_hourly)', 'Hour (UTC)', RATE_AXIS, {
        yaxis: { tickformat: '.0%', rangemode: 'tozero' }, xaxis: { type: 'date', range: [iso(t0), iso(t1)] }, height: 440,
        shapes: windows.map((w) => ({ type: 'rect', xref: 'x', yref: 'paper', x0: iso(w.s), x1: iso(w.e), y0: 0, y1: 1, fillcolor: 'rgba(220,38,38,0.22)', line: { width: 1, color: 'rgba(220,38,38,0.8)' }, layer: 'below' })),
        // a label in the right half ends at its window's end: one that started there ran off the data's
        // last hour and stretched the axis by days of nothing
        annotations: labelled.map((w, j) => {
          const right = w.s - t0 > (t1 - t0) / 2;
          return { x: iso(right ? Math.min(w.e, t1) : Math.max(w.s, t0)), y: 1 - 0.09 * (j % 4), xref: 'x', yref: 'paper',
            xanchor: right ? 'right' : 'left', text: pt(w.label).slice(0, 70), showarrow: false,
            font: { size: 11, color: '#991b1b' }, bgcolor: 'rgba(255,255,255,0.8)' };
        }),
      }),
    };
  }

  function dqReasons(D, view, width) {
    const all = D.P.dq_reasons;
    if (!all) return note(D.P.missing.dq_reasons || 'dq_quarantine_reasons not built');
    if (!all.length) return note('No record was quarantined: every landed record passed validation');
    const rows = all.slice(0, 15), total = sum(all.map((r) => r.records)), top = rows[0];
    return {
      data: [{ type: 'bar', orientation: 'h', y: rows.map((r) => pt(human(r.reason))), x: rows.map((r) => r.records), marker: { color: COLOR.warn },
        text: rows.map((r) => fmt(r.records)), textposition: 'outside', cliponaxis: false, customdata: rows.map((r) => pt(r.column_name || '(record)')),
        hovertemplate: '%{y}: %{x:,} records (input column %{customdata})<extra></extra>' }],
      layout: layout(width, human(top.reason) + ' is the commonest defect: ' + fmt(top.records) + ' records (' + pct(top.records / total) + ' of reasons)',
        'Quarantined records per reason, the ' + rows.length + ' commonest (a record can have several); all batches, all APIs, whole period whatever the filters: a refused record has no trusted API or date (dq_quarantine_reasons)', 'Records', '', {
          height: 200 + 22 * rows.length, showlegend: false, yaxis: { autorange: 'reversed', title: { text: '' } }, xaxis: { rangemode: 'tozero' },
        }),
    };
  }

  function dqBatches(D, view, width) {
    const all = D.P.dq_batches;
    if (!all || !all.length) return note((D.P.missing.dq_batches) || 'No batch was loaded');
    const broken = all.filter((r) => !r.is_reconciled), shown = all.slice(-20);
    // set-aside spans only where traces delivered some: other logs have none by construction
    const aside = shown.some((r) => r.set_aside_count);
    const parts = [['quarantined_count', 'quarantined', COLOR.warn], ['set_aside_count', 'spans that are no API call', COLOR.light], ['duplicate_count', 'duplicates', COLOR.neutral], ['rejected_count', 'reader rejects', '#92400e'], ['unaccounted_count', 'unaccounted', COLOR.bad]]
      .filter((p) => aside || p[0] !== 'set_aside_count');
    const title = broken.length ? broken.length + ' of ' + all.length + ' batches do not reconcile: ' + fmt(sum(broken.map((r) => Math.abs(r.unaccounted_count || 0)))) + ' records unaccounted for'
      : (all.length === 1 ? 'The one batch reconciles' : 'All ' + all.length + ' batches reconcile') + ': every counted record reached facts, quarantine' +
        (aside ? ', set-aside spans' : '') + ', duplicates or rejects';
    const y = shown.map((r) => pt(r.batch_id) + '<br>' + fmt(r.record_count) + ' counted, ' + fmt(r.fact_count) + ' facts');
    return {
      data: parts.map((p) => ({ type: 'bar', orientation: 'h', name: p[1], y, x: shown.map((r) => r[p[0]]), marker: { color: p[2] }, text: shown.map((r) => fmt(r[p[0]] || 0)),
        textposition: 'outside', cliponaxis: false, hovertemplate: '%{x:,} ' + p[1] + '<extra></extra>' })),
      layout: layout(width, title, 'Records of each batch that did not become facts, by where they went' + (shown.length < all.length ? '; latest ' + shown.length + ' of ' + all.length + ' batches' : '') +
        '; all APIs, whole period whatever the filters: a batch is a delivered file (dq_batch_summary)', 'Records', '', { barmode: 'group', height: 200 + 70 * shown.length, yaxis: { autorange: 'reversed', title: { text: '' } }, xaxis: { rangemode: 'tozero' } }),
    };
  }

  /** Failure rate per value of one extra dimension (a field of the team's logs named in
   * vars.analysis_dimensions.extra), dots with Wilson intervals from agg_failure_rate_by_dimension;
   * red: the value's interval lies wholly above the rate of the dimension's other values (the rule
   * is in SQL, dashboard/marts.py, so the report names the same values). */
  function extraDimension(dim) {
    return function (D, view, width) {
      const all = (D.P.extra_values || {})[dim];
      if (!all) return note(D.P.missing.extra_values || 'agg_failure_rate_by_dimension not built');
      if (!all.length) return note('No API call carries a ' + D.fieldWord(dim));
      const rows = all.slice().sort((a, b) => (b.failure_rate || 0) - (a.failure_rate || 0) || b.calls - a.calls), first = rows[0];
      const overall = first.dimension_failures / first.dimension_calls, above = rows.filter((r) => r.is_above_others);
      const cover = (D.P.coverage || {})[dim], carried = cover && cover.api_calls ? first.dimension_calls / cover.api_calls : null;
      const word = D.fieldWord(dim), top = above[0];
      const title = top ? word + ' ' + top.dimension_value + ' fails most: ' + pct(top.failure_rate) + ' (95% interval ' + pct(top.failure_rate_ci_lower) + ' to ' +
          pct(top.failure_rate_ci_upper) + ') vs ' + pct(top.others_failure_rate) + ' on the other values' + (above.length > 1 ? '; ' + plural(above.length, 'value') + ' above the rest' : '')
        : 'No ' + word + ' value fails more than the other values beyond chance (' + pct(overall) + ' of its calls fail, ' + plural(first.dimension_values, 'value') + ')';
      const labels = rows.map((r) => pt(r.dimension_value)).reverse(), rs = rows.slice().reverse();
      return {
        data: [dotPlot(labels, rs.map((r) => r.failure_rate), rs.map((r) => [r.failure_rate_ci_lower, r.failure_rate_ci_upper]), rs.map((r) => r.is_above_others),
          'failure rate', rs.map((r) => [r.calls, r.failures, pct(r.others_failure_rate)]),
          '%{y}: %{customdata[1]:,} of %{customdata[0]:,} calls failed (%{x:.2%}); the other values %{customdata[2]}<extra></extra>')],
        layout: layout(width, title, 'Failure rate per ' + word + ' (a field of the logs, vars.analysis_dimensions.extra), any failure class, Wilson 95% intervals; ' +
          'red: interval wholly above the rate of the other values; dashed: all its values (' + pct(overall) + '); ' +
          (rows.length < first.dimension_values ? 'the ' + rows.length + ' of ' + first.dimension_values + ' values above the rest or with most calls; ' : '') +
          fmt(first.dimension_calls) + ' API calls carry it' + (carried === null ? '' : ' (' + pct(carried) + ')') +
          '. All APIs, whole period whatever the filters: the mart has no API or date (agg_failure_rate_by_dimension)', RATE_AXIS, '', {
          showlegend: false, height: Math.max(200 + 34 * rows.length, width < 600 ? 480 : 0), xaxis: { tickformat: '.1%', rangemode: 'tozero' }, // a phone's title takes room
          yaxis: { title: { text: '' }, categoryorder: 'array', categoryarray: labels },
          shapes: [{ type: 'line', xref: 'x', yref: 'paper', x0: overall, x1: overall, y0: 0, y1: 1, line: { color: COLOR.ink, dash: 'dash', width: 1 } }],
        }),
      };
    };
  }

  // follows: which filters a chart follows ('scope+dates', 'scope', 'none'); the page says so.
  // needs: the fields the chart is about; label: its name in the line that says one is missing.
  const CHARTS = [
    { id: 'daily_volume', section: 'overview', wide: true, follows: 'scope+dates', build: dailyVolume },
    { id: 'slo_burn', section: 'reliability', wide: true, follows: 'scope+dates', build: sloBurn },
    { id: 'success_by_region', section: 'reliability', png: 'success_rate_by_region.png', follows: 'scope+dates', build: successByRegion,
      needs: ['region'], label: 'success rate by region' },
    { id: 'conversion_by_region', section: 'reliability', follows: 'none', build: conversionByRegion,
      needs: ['verification_id', 'region'], label: 'conversion by region' },
    { id: 'latency_distribution', section: 'latency', png: 'api_latency_distribution.png', follows: 'scope', build: latencyDistribution,
      needs: ['latency_ms'], label: 'latency distribution' },
    { id: 'latency_by_version', section: 'latency', follows: 'scope', build: latencyByVersion, needs: ['latency_ms', 'api_version'], label: 'latency by version' },
    { id: 'latency_over_time', section: 'latency', wide: true, follows: 'scope+dates', build: latencyOverTime, needs: ['latency_ms'], label: 'latency over time' },
    { id: 'error_reasons', section: 'failures', wide: true, follows: 'scope', build: errorReasons },
    { id: 'incident_timeline', section: 'failures', wide: true, follows: 'scope+dates', build: incidentTimeline },
    { id: 'failure_concentration', section: 'failures', follows: 'scope+dates', build: failureConcentration, needs: ['region'], label: 'failure concentration by region' },
    { id: 'failure_by_document', section: 'failures', png: 'failure_rate_by_document.png', follows: 'none', build: failureByDocument,
      needs: ['document_type'], label: 'failure rate by document type' },
    { id: 'fragile_documents', section: 'failures', follows: 'none', build: fragileDocuments, needs: ['document_type'], label: 'fragile API x document pairs' },
    { id: 'dq_reasons', section: 'data_quality', follows: 'none', build: dqReasons },
    { id: 'dq_batches', section: 'data_quality', follows: 'none', build: dqBatches },
  ];
  CHARTS.forEach((c) => { c.png = c.png || 'dashboard_' + c.id + '.png'; });

  /** Every chart of a payload: the fixed ones, then one failure-rate chart per extra dimension
   * of vars.analysis_dimensions.extra (a field name, made safe for an element id and a file). */
  function chartsFor(P) {
    const taken = {};
    const extra = ((P.meta && P.meta.extra_dimensions) || []).map((dim) => {
      let slug = 'extra_' + (String(dim).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'field');
      while (taken[slug]) slug += '_';
      taken[slug] = true;
      return { id: slug, section: 'failures', follows: 'none', build: extraDimension(dim), needs: [dim], label: 'failure rate by ' + String(dim).replace(/_/g, ' '),
        png: 'dashboard_' + slug + '.png', dimension: dim };
    });
    return CHARTS.concat(extra);
  }

  return { CHARTS, chartsFor, figure, Data, COLOR, pt, human, pct, ms, fmt, plural, sum };
})();

if (typeof window !== 'undefined') window.Charts = Charts;
