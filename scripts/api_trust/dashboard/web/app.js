/* The page: filters (kept in the URL), the findings to fix first, KPIs, an API's profile,
 * the charts of charts.js and the tables. Every piece of data text is set with textContent
 * (or handed to plotly entity-escaped by charts.js): nothing from the data reaches innerHTML. */
'use strict';

(() => {
  const status = { ready: false, errors: [], charts: [], drawn: 0 };
  window.__dashboard = status;
  const { Data, pct, ms, fmt, human, plural, sum } = Charts;
  const P = JSON.parse(document.getElementById('data-payload').textContent);
  const D = Data(P);
  const CHARTS = Charts.chartsFor(P); // the fixed charts and one per extra dimension
  const DAYS = D.days;
  // charts are drawn at their card's width and redrawn on resize (titles re-wrap for the width)
  const CONFIG = { displaylogo: false, responsive: false, displayModeBar: 'hover', modeBarButtonsToRemove: ['select2d', 'lasso2d'] };
  const SECTIONS = [['overview', 'Overview'], ['reliability', 'Reliability'], ['latency', 'Latency'], ['failures', 'Failures'],
    ['root_cause', 'Root cause'], ['data_quality', 'Data quality']];
  const TOP_FINDINGS = 5;
  const CLASS_COLOURS = { client_input: '#94a3b8', fraud_decision: '#64748b', auth: '#d97706', rate_limited: '#b45309', server: '#dc2626', timeout: '#991b1b' };

  const whole = () => ({ scope: 'all', from: DAYS[0] || null, to: DAYS[DAYS.length - 1] || null, finding: null, region: null });
  let state = whole();
  const view = () => ({ scope: state.scope, from: state.from, to: state.to });
  const isDefault = () => state.scope === 'all' && D.isWhole(view());

  // ------------------------------------------------------------------ small DOM helpers
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function noteBox(parent, title, text) {
    const box = el('div', 'note');
    box.appendChild(el('h3', null, title));
    box.appendChild(el('div', null, text));
    parent.appendChild(box);
  }
  function csvCell(v) {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s; // a spreadsheet would run it as a formula
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function download(name, columns, rows) {
    const lines = [columns.map((c) => csvCell(c[1])).join(',')].concat(rows.map((r) => columns.map((c) => csvCell(cellValue(c, r))).join(',')));
    const a = el('a');
    a.href = URL.createObjectURL(new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv' }));
    a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
  }
  const cellValue = (c, r) => typeof c[0] === 'function' ? c[0](r) : r[c[0]];

  /** A table card: title, subtitle, a CSV button, rows scrolling inside the card. */
  function tableCard(parent, id, title, sub, columns, rows, opts) {
    const o = opts || {};
    const card = el('div', 'card' + (o.wide ? ' wide' : ''));
    card.id = 'table-' + id;
    const tools = el('div', 'card-tools'), btn = el('button', 'csv', 'CSV');
    btn.type = 'button'; btn.title = 'Download this table as CSV';
    btn.addEventListener('click', () => download(id + '.csv', columns, rows));
    tools.appendChild(btn); card.appendChild(tools);
    card.appendChild(el('h3', null, title));
    if (sub) card.appendChild(el('div', 'sub', sub));
    const wrapDiv = el('div', 'table-wrap'), table = el('table'), thead = el('thead'), tr = el('tr');
    columns.forEach((c) => tr.appendChild(el('th', null, c[1])));
    thead.appendChild(tr); table.appendChild(thead);
    const tbody = el('tbody');
    rows.forEach((r) => {
      const row = el('tr', o.onClick ? 'clickable' : null);
      if (o.onClick) row.addEventListener('click', () => o.onClick(r));
      columns.forEach((c) => {
        const v = cellValue(c, r);
        row.appendChild(el('td', c[2] || null, v === null || v === undefined ? '' : (typeof v === 'number' ? fmt(Math.round(v * 100) / 100) : v)));
      });
      tbody.appendChild(row);
    });
    table.appendChild(tbody); wrapDiv.appendChild(table); card.appendChild(wrapDiv);
    parent.appendChild(card);
    return card;
  }

  // ------------------------------------------------------------------ words for findings
  function where(f) {
    const parts = [];
    if (f.api_name) parts.push(f.api_name + (f.api_version ? ' ' + f.api_version : ''));
    // a finding across APIs whose excess one API's calls mostly carry (rca_findings.carrying_api_name)
    else if (f.carrying_api_name) parts.push('mostly ' + f.carrying_api_name);
    if (f.region) parts.push('in ' + f.region);
    if (f.document_type) parts.push('on ' + f.document_type + ' documents');
    if (f.client_type && !f.client_id) parts.push('for ' + f.client_type + ' clients');
    if (f.client_id) parts.push('client ' + f.client_id + (f.client_type ? ' (' + f.client_type + ')' : ''));
    // dimensions beyond the mart's columns (sdk_version, a team's extra fields) are in the segment text
    const own = ['api_name', 'api_version', 'region', 'document_type', 'client_type', 'client_id'];
    String(f.segment || '').split(', ').forEach((part) => {
      const i = part.indexOf('=');
      if (i > 0 && own.indexOf(part.slice(0, i)) < 0) parts.push(part.slice(0, i).replace(/_/g, ' ') + ' ' + part.slice(i + 1));
    });
    if (f.started_at && f.ended_at) parts.push(String(f.started_at).slice(0, 16) + ' to ' + String(f.ended_at).slice(0, 16) + ' UTC');
    return parts.join(', ') || 'whole platform';
  }
  function metricValue(metric, v) {
    if (v === null || v === undefined) return 'n/a';
    if (metric === 'calls') return fmt(Math.round(v)); // a traffic drop: calls seen and expected
    return /latency|_ms$/.test(String(metric)) ? ms(v) : pct(v);
  }
  function findingWhat(f) {
    return human(f.finding_type) + ': ' + human(f.metric) + ' ' + metricValue(f.metric, f.segment_value) + ' vs ' + metricValue(f.metric, f.baseline_value);
  }
  /** The filter a finding stands for: its API (or all) and, when it has one, its window. */
  function findingView(f) {
    const scope = f.api_name ? (D.keyOf(f.api_name) === f.api_name ? 'api:' + f.api_name : (D.keyOf(f.api_name) ? 'unknown' : 'all')) : 'all';
    let from = DAYS[0], to = DAYS[DAYS.length - 1];
    if (f.started_at && f.ended_at) { from = String(f.started_at).slice(0, 10); to = String(f.ended_at).slice(0, 10); }
    return { scope, from, to };
  }
  function openFinding(f) {
    const v = findingView(f);
    setState({ scope: v.scope, from: v.from, to: v.to, finding: f.finding_rank });
    document.getElementById('section-fix').scrollIntoView({ block: 'start' });
  }

  // ------------------------------------------------------------------ fix first
  /** Findings of the selected scope: those of its APIs; findings without an API (a client's
   * credentials) belong to the whole platform and show under 'all APIs' only. */
  const findingsInScope = () => (P.findings || []).filter((f) => f.api_name ? D.apiInScope(f.api_name, state.scope) : state.scope === 'all');

  function renderFindings() {
    const box = document.getElementById('findings'), heading = document.getElementById('fix-heading');
    const more = document.getElementById('findings-more');
    box.textContent = ''; more.textContent = '';
    heading.textContent = 'Fix first' + (state.scope === 'all' ? '' : ': ' + D.scopeText(state.scope));
    if (!P.findings) { noteBox(box, 'Findings', P.missing.findings || 'rca_findings not built'); return; }
    const rows = findingsInScope();
    if (!rows.length) {
      noteBox(box, 'Nothing to fix first for ' + D.scopeText(state.scope), P.findings.length ? 'No ranked finding is about ' + D.scopeText(state.scope) +
        '; reset the filter to see the ' + plural(P.findings.length, 'finding') + ' of the platform.' : 'No finding passed its significance test: nothing fails or slows down beyond its baseline.');
      return;
    }
    rows.slice(0, TOP_FINDINGS).forEach((f) => {
      const card = el('button', 'finding' + (state.finding === f.finding_rank ? ' active' : ''));
      card.type = 'button';
      card.id = 'finding-' + f.finding_rank;
      card.appendChild(el('div', 'rank', '#' + f.finding_rank + ' · ' + human(f.finding_tier)));
      card.appendChild(el('div', 'what', findingWhat(f)));
      card.appendChild(el('div', 'meta', 'Where: ' + where(f)));
      // logs without client ids (traces, access logs) say nothing of clients, not "0 clients";
      // nor does a traffic drop: its clients are those of failed calls, which it does not count
      const nClients = f.clients_affected || 0;
      const clients = clientsColumn().length && f.metric !== 'calls' ? ', ' + fmt(nClients) + (nClients === 1 ? ' client' : ' clients') : '';
      card.appendChild(el('div', 'meta', 'Owner: ' + (f.owner_team || 'unassigned') + ' · ' + fmt(f.calls || 0) + ' calls' + clients));
      card.appendChild(el('div', 'act', 'Do: ' + (f.recommendation || '')));
      card.addEventListener('click', () => openFinding(f));
      box.appendChild(card);
    });
    more.appendChild(document.createTextNode('Ranked over the whole period by tier, then impact; click one for its evidence. '));
    const a = el('a', null, 'All ' + plural(rows.length, 'finding') + (state.scope === 'all' ? '' : ' of ' + D.scopeText(state.scope)) + ' (root cause table)');
    a.href = '#section-root_cause';
    more.appendChild(a);
  }

  function renderEvidence() {
    const box = document.getElementById('evidence');
    box.textContent = '';
    const f = (P.findings || []).filter((x) => x.finding_rank === state.finding)[0];
    box.hidden = !f;
    if (!f) return;
    const ev = (P.evidence || {})[String(f.finding_rank)] || { reasons: [], clients: [], samples: [] };
    const close = el('button', 'csv', 'Close');
    close.type = 'button'; close.style.float = 'right';
    close.addEventListener('click', () => setState(Object.assign(whole(), { finding: null })));
    box.appendChild(close);
    box.appendChild(el('h3', null, '#' + f.finding_rank + ' ' + findingWhat(f)));
    box.appendChild(el('div', 'muted', 'Where: ' + where(f) + ' · owner ' + (f.owner_team || 'unassigned') + ' · filters set to ' + D.scopeText(state.scope) + ', ' + D.periodText(view())));
    box.appendChild(el('p', null, f.evidence || ''));
    box.appendChild(el('p', null, 'Do: ' + (f.recommendation || '')));
    const cols = el('div', 'cols');
    const failures = sum(ev.reasons.map((r) => r[2]));
    const list = (title, items, render) => {
      const c = el('div'); c.appendChild(el('strong', null, title));
      const ul = el('ul');
      if (!items.length) ul.appendChild(el('li', null, 'none'));
      items.forEach((it) => ul.appendChild(render(it)));
      c.appendChild(ul); cols.appendChild(c);
    };
    list('Failures by reason (' + fmt(failures) + ' in this segment and window)', ev.reasons.slice(0, 8), (r) => {
      const li = el('li'), bar = el('span', 'bar');
      bar.style.width = Math.max(2, Math.round(80 * r[2] / (failures || 1))) + 'px';
      li.appendChild(bar); li.appendChild(document.createTextNode(human(r[0]) + ' (' + human(r[1]) + '): ' + fmt(r[2]) + ', ' + pct(r[2] / (failures || 1))));
      return li;
    });
    list('Clients with most of these failures', ev.clients, (c) => el('li', null, c[0] + ': ' + fmt(c[1]) + ' failures'));
    list('Sample failed request ids (latest)', ev.samples, (s) => { const li = el('li'); li.appendChild(el('code', null, s)); return li; });
    box.appendChild(cols);
  }

  // ------------------------------------------------------------------ KPIs
  function kpi(box, label, value, detail, tone) {
    const k = el('div', 'kpi' + (tone ? ' ' + tone : ''));
    k.appendChild(el('div', 'label', label));
    k.appendChild(el('div', 'value', value));
    if (detail instanceof Node) k.appendChild(detail); else k.appendChild(el('div', 'detail', detail));
    box.appendChild(k);
    return k;
  }
  function renderKpis() {
    const box = document.getElementById('kpis'), v = view(), where = D.scopeText(v.scope) + ', ' + D.periodText(v);
    box.textContent = '';
    if (!P.daily) { kpi(box, 'Calls', 'n/a', P.missing.daily || 'agg_api_daily has no rows'); return; }
    const t = D.total(v);
    const slo = D.sloRows(v).filter((r) => D.apiInScope(r.api, v.scope));
    const eligible = sum(slo.map((r) => r.eligible)), bad = sum(slo.map((r) => r.bad));
    const avail = eligible ? 1 - bad / eligible : null;
    kpi(box, 'Availability', pct(avail, 2), slo.length ? P.meta.availability_classes.map(human).join(', ') + ' failures only, ' + fmt(bad) + ' of ' + fmt(eligible) + ' calls; ' + where
      : 'No API with an availability target has calls in ' + where + ' (targets are set per catalogue API)', null).id = 'kpi-availability';
    const conv = (P.conversion || []), verifs = sum(conv.map((r) => r.verifications)), noVerification = D.isMissing('verification_id');
    const first = verifs && !noVerification ? sum(conv.map((r) => r.first_attempt_passes)) / verifs : null;
    const eventual = verifs && !noVerification ? sum(conv.map((r) => r.eventual_passes)) / verifs : null;
    const noConv = 'No verification id in these logs: conversion is not measured (each call would count as a verification of its own)';
    const vid = (P.coverage || {}).verification_id, noId = vid ? vid.api_calls - vid.calls_with_value : 0;
    kpi(box, 'First-attempt conversion', pct(first), noVerification ? noConv : fmt(verifs) + ' verifications; all APIs, whole period (a verification spans APIs)' +
      (noId ? '; ' + fmt(noId) + ' calls without a verification id count as one each' : '')).id = 'kpi-first-attempt';
    kpi(box, 'Eventual conversion', pct(eventual), noVerification ? 'see first-attempt conversion' : 'after retries; all APIs, whole period (a verification spans APIs)').id = 'kpi-eventual';
    const detail = el('div', 'detail'), bar = el('div', 'classbar');
    D.classes.forEach((c) => {
      const s = el('span'); s.style.width = (t.failures ? 100 * (t.byClass[c] || 0) / t.failures : 0) + '%'; s.style.background = CLASS_COLOURS[c]; s.title = human(c);
      bar.appendChild(s);
    });
    detail.appendChild(bar);
    detail.appendChild(el('div', null, D.classes.map((c) => human(c) + ' ' + pct(t.failures ? (t.byClass[c] || 0) / t.failures : null, 0)).join(' · ')));
    detail.appendChild(el('div', null, 'of ' + fmt(t.calls) + ' calls; ' + where));
    kpi(box, 'Failed calls by class', fmt(t.failures) + ' (' + pct(t.calls ? t.failures / t.calls : null) + ')', detail).id = 'kpi-failures';
    const sig = slo.filter((r) => r.significant).sort((a, b) => b.bad - b.budget - (a.bad - a.budget));
    const over = slo.filter((r) => r.breached);
    const names = sig.slice(0, 4).map((r) => r.api).join(', ') + (sig.length > 4 ? ' and ' + (sig.length - 4) + ' more' : '');
    kpi(box, 'Availability SLO', slo.length ? sig.length + ' of ' + slo.length + ' APIs miss it' : 'n/a', !slo.length ? 'No API with an availability target has calls in ' + where
      : (sig.length ? names + ' miss beyond doubt; ' : 'none beyond doubt; ') + over.length + ' over budget; ' + where, !slo.length ? null : sig.length ? 'bad' : over.length ? 'warn' : 'ok').id = 'kpi-slo';
    let p95 = null, how = '';
    const noLatency = D.isMissing('latency_ms');
    if (noLatency) how = 'No latency in these logs: nothing to take a percentile of';
    else if (v.scope === 'all' && P.overview) { p95 = P.overview.p95_latency_ms; how = 'exact'; } else if (v.scope.indexOf('api:') === 0 && D.lat[v.scope.slice(4)]) { p95 = D.lat[v.scope.slice(4)].p95; how = 'exact'; } else if (P.histogram) {
      p95 = Stats.histogramQuantile(D.histogram(v.scope), P.histogram.per_decade, 0.95); how = 'from the histogram, within 12%';
    }
    kpi(box, 'p95 latency', (how === 'exact' || p95 === null ? '' : '\u2248 ') + ms(p95), noLatency ? how : how + '; ' + D.scopeText(v.scope) + ', whole period (percentiles do not merge across days)').id = 'kpi-p95';
  }

  /** What the charts leave out, one line each and only when there is some (whole period): calls
   * that are not API traffic, API calls without a latency, fields these logs do not carry. */
  function renderLeftOut() {
    const box = document.getElementById('left-out'), lo = D.leftOut(), lines = [];
    if (lo.nonApi) {
      lines.push(fmt(lo.nonApi) + ' calls are not API traffic and are left out of every chart and KPI: ' +
        lo.byClass.map((r) => r[0] + ' ' + fmt(r[1])).join(', ') + '.');
    }
    if (lo.noLatency) {
      lines.push((lo.noLatency === lo.apiCalls ? 'No API call carries a latency (' + fmt(lo.noLatency) + ' calls)' : fmt(lo.noLatency) + ' of ' + fmt(lo.apiCalls) +
        ' API calls carry no latency') + ': left out of the latency charts and percentiles.');
    }
    const charted = {}; // the fields some chart is about (latency has its own line above)
    CHARTS.forEach((c) => (c.needs || []).forEach((f) => { if (f !== 'latency_ms') charted[f] = true; }));
    const missing = D.missingFields().filter((f) => charted[f]);
    if (missing.length) lines.push('Not in these logs: ' + missing.map(D.fieldWord).join(', ') + '. Charts by them say so instead of drawing one bar named unknown.');
    box.textContent = '';
    lines.forEach((line) => box.appendChild(el('li', null, line)));
    box.hidden = !lines.length;
  }

  // ------------------------------------------------------------------ one API's profile
  function renderProfile() {
    const sec = document.getElementById('section-api'), v = view();
    sec.textContent = '';
    const api = v.scope.indexOf('api:') === 0 ? v.scope.slice(4) : v.scope === 'unknown' ? 'unknown' : null;
    sec.hidden = !api;
    if (!api) return;
    const key = D.KEY[api] || {};
    sec.appendChild(el('h2', null, api === 'unknown' ? key.label : api + ' profile'));
    sec.appendChild(el('p', null, api === 'unknown' ? 'Names close to a far busier catalogued API, grouped: ' + (key.members || []).map((m, i) => m + ' (' + ((key.typo_of || [])[i] || '?') + '?)').join(', ')
      : 'Family ' + key.family + ', owner ' + (key.owner || 'unassigned') + '. Counts follow the date filter (' + D.periodText(v) + '); percentiles, versions, reasons and clients are whole period.'));
    const grid = el('div', 'grid'); sec.appendChild(grid);
    const t = D.total(v), b = Stats.wilson(t.failures, t.calls, t.seen), card = el('div', 'card wide'), kp = el('div', 'profile-kpis');
    kpi(kp, 'Calls', fmt(t.calls), D.periodText(v));
    kpi(kp, 'Failure rate', pct(t.calls ? t.failures / t.calls : null, 2), '95% interval ' + pct(b[0], 2) + ' to ' + pct(b[1], 2));
    kpi(kp, 'Failures by class', fmt(t.failures), D.classes.map((c) => human(c) + ' ' + fmt(t.byClass[c] || 0)).join(' · '));
    const L = D.lat[api];
    kpi(kp, 'Latency p50 / p95 / p99', L ? ms(L.p50) + ' / ' + ms(L.p95) + ' / ' + ms(L.p99) : 'n/a', 'exact, whole period');
    card.appendChild(kp); grid.appendChild(card);
    const versions = D.versionRows(api);
    tableCard(grid, 'api-versions', 'Versions', 'Exact latency per version, whole period; regression from rca_version_regressions', [
      ['version', 'Version'], ['calls', 'Calls', 'num'], [(r) => ms(r.p50), 'p50'], [(r) => ms(r.p95), 'p95'], [(r) => ms(r.p99), 'p99'],
      [(r) => r.regression ? 'regressed vs ' + r.regression.previous_version : (r.latest ? 'latest' : ''), 'Status']], versions);
    const reasons = D.errors(v.scope).sort((a, b) => b.failures - a.failures).slice(0, 10);
    const rf = sum(reasons.map((r) => r.failures));
    tableCard(grid, 'api-reasons', 'Top error reasons', 'Whole period (agg_error_reasons_by_api has no date)', [
      [(r) => human(r.reason), 'Reason'], [(r) => human(r.cls), 'Class'], ['failures', 'Failures', 'num'], [(r) => pct(r.failures / (rf || 1)), 'Share of top reasons']], reasons);
    const clients = (P.clients || {})[api] || [];
    tableCard(grid, 'api-clients', 'Top clients by failures', 'Whole period (aggregated from fct_api_calls)', [
      [(c) => c[0], 'Client'], [(c) => c[1], 'Calls', 'num'], [(c) => c[2], 'Failures', 'num'], [(c) => pct(c[1] ? c[2] / c[1] : null), 'Failure rate']], clients);
    const incidents = (P.incidents || []).filter((r) => D.apiInScope(r.api_name, v.scope));
    tableCard(grid, 'api-incidents', incidents.length ? plural(incidents.length, 'incident') : 'No incident', 'rca_incidents, whole period', [
      [(r) => human(r.finding_type), 'Kind'], ['started_at', 'Started (UTC)'], ['ended_at', 'Ended (UTC)'], [(r) => human(r.dominant_error_reason), 'Main reason'], ['failures', 'Failures', 'num'], [(r) => pct(r.failure_rate), 'Failure rate']], incidents);
  }

  // ------------------------------------------------------------------ charts
  const cards = {};
  function chartWidth(id) { const c = cards[id]; return c && c.clientWidth ? c.clientWidth - 14 : 1200; }
  let lastWidth = null;
  function build(chart, width) {
    return Charts.figure(chart, D, view(), width, { region: state.region });
  }
  function draw(chart) {
    const card = cards[chart.id], width = chartWidth(chart.id), fig = build(chart, width);
    const div = card.querySelector('.chart'), noteDiv = card.querySelector('.note');
    if (noteDiv) noteDiv.remove();
    const info = status.charts.filter((c) => c.id === chart.id)[0];
    const tools = card.querySelector('.card-tools'); // a chart's own controls go with its drawing
    if (tools) tools.hidden = !!fig.note;
    if (fig.note) {
      if (div) { Plotly.purge(div); div.remove(); }
      noteBox(card, chart.label ? chart.label[0].toUpperCase() + chart.label.slice(1) : human(chart.id), fig.note);
      info.drawn = false;
      return Promise.resolve();
    }
    let target = div;
    if (!target) { target = el('div', 'chart'); target.id = 'chart-' + chart.id; card.appendChild(target); }
    info.drawn = true;
    return Plotly.react(target, fig.data, Object.assign({}, fig.layout, { width, autosize: false }), CONFIG);
  }
  function drawCharts() {
    return Promise.all(CHARTS.map((c) => draw(c).catch((err) => { status.errors.push(c.id + ': ' + err); console.error('chart ' + c.id + ': ' + err); })));
  }

  // ------------------------------------------------------------------ tables under the charts
  const tableBoxes = {};
  /** The clients-affected column, left out where no call names its client (it would read 0). */
  const clientsColumn = () => (D.isMissing('client_id') ? [] : [['clients_affected', 'Clients', 'num']]);
  const TABLES = {
    root_cause(box) {
      if (!P.findings) { const c = el('div', 'card wide'); noteBox(c, 'Ranked findings', P.missing.findings || 'rca_findings not built'); box.appendChild(c); return; }
      const rows = findingsInScope();
      tableCard(box, 'findings', plural(rows.length, 'finding') + ' for ' + D.scopeText(state.scope) + ', ranked (click one to filter the page to it)',
        'rca_findings: ranked by impact (excess failed and slow calls, a new problem projected from its start); whole period; findings without an API (a client, a region across APIs) under all APIs only', [
          ['finding_rank', '#', 'num'], [(r) => human(r.finding_tier) + '\n' + human(r.finding_type), 'Kind', 'pre'], [where, 'Where', 'pre'], ['owner_team', 'Owner'],
          [(r) => metricValue(r.metric, r.segment_value) + ' vs ' + metricValue(r.metric, r.baseline_value) + '\n' + human(r.metric), 'Segment vs baseline', 'pre'],
          [(r) => r.lift === null || r.lift === undefined ? '' : Number(r.lift).toFixed(2) + 'x', 'Lift'], ['calls', 'Calls', 'num'],
          [(r) => r.excess_failures ? Math.round(r.excess_failures) : null, 'Excess failures', 'num'], ...clientsColumn(),
          ['evidence', 'Evidence', 'long'], ['recommendation', 'Recommendation', 'long']], rows, { wide: true, onClick: openFinding });
    },
    failures(box) {
      if (!P.incidents) { const c = el('div', 'card wide'); noteBox(c, 'Incidents', P.missing.incidents || 'rca_incidents not built'); box.appendChild(c); return; }
      const rows = P.incidents.filter((r) => D.apiInScope(r.api_name, state.scope) && String(r.ended_at || r.started_at).slice(0, 10) >= state.from && String(r.started_at).slice(0, 10) <= state.to);
      tableCard(box, 'incidents', rows.length ? plural(rows.length, 'incident') + ': when an API failed (or slowed) far above what it normally does, or its calls fell far below it' : 'No incident for ' + D.scopeText(state.scope) + ', ' + D.periodText(view()),
        'rca_incidents; ' + D.scopeText(state.scope) + ', ' + D.periodText(view()), [
          ['api_name', 'API'], [(r) => human(r.finding_type), 'Kind'], [(r) => human(r.metric), 'Found on'], ['segment', 'Where'], ['owner_team', 'Owner'], ['started_at', 'Started (UTC)'], ['ended_at', 'Ended (UTC)'], [(r) => human(r.dominant_error_reason), 'Main reason'],
          ['calls', 'Calls', 'num'], ['failures', 'Failures', 'num'], [(r) => pct(r.failure_rate), 'Failure rate'], [(r) => pct(r.baseline_failure_rate), 'Baseline'],
          [(r) => r.excess_failures === null ? null : Math.round(r.excess_failures), 'Excess failures', 'num'], ...clientsColumn()], rows, { wide: true });
    },
    data_quality(box) {
      if (P.dq_drift) {
        tableCard(box, 'schema-drift', P.dq_drift.length ? 'Schema drift: ' + plural(P.dq_drift.length, 'change') + ' between the contract and what batches delivered' : 'No schema drift: every batch matched the contract',
          'dq_schema_drift, in load order; all APIs', [['batch_id', 'Batch'], [(r) => human(r.change_type), 'Change'], ['column_name', 'Column as delivered'], ['contract_column', 'Contract column'],
            ['sniffed_type', 'Sniffed type'], ['expected_type', 'Expected type'], ['severity', 'Severity'], ['loaded_at', 'Loaded at']], P.dq_drift, { wide: true });
      } else { const c = el('div', 'card'); noteBox(c, 'Schema drift', P.missing.dq_drift); box.appendChild(c); }
      if (P.dq_values) {
        tableCard(box, 'refused-values', P.dq_values.length ? 'Which labels did senders use that we do not know?' : 'Every delivered label was known',
          'Values as delivered (PII masked) in refused labels, commonest first; all APIs (dq_quarantine)', [['column_name', 'Column'], [(r) => human(r.reason), 'Reason'],
            ['value_raw', 'Value as delivered', 'long'], ['records', 'Records', 'num']], P.dq_values);
      } else { const c = el('div', 'card'); noteBox(c, 'Refused values', P.missing.dq_values); box.appendChild(c); }
    },
  };
  function renderTables() {
    Object.keys(tableBoxes).forEach((name) => { tableBoxes[name].textContent = ''; TABLES[name](tableBoxes[name]); });
  }

  // ------------------------------------------------------------------ filters and the URL
  const OPTIONS = {}; // datalist label -> scope
  function scopeLabel(scope) {
    if (scope === 'all') return '';
    if (scope === 'unknown') return (D.KEY.unknown || {}).label || 'Likely misspelt API names';
    return scope.indexOf('family:') === 0 ? scope.slice(7) + ' family' : scope.slice(4);
  }
  /** The scope a typed text stands for: a listed label, an API (any case), or a likely misspelt name. */
  function scopeFor(text) {
    const t = String(text || '').trim();
    if (!t || /^all( apis)?$/i.test(t)) return 'all';
    if (OPTIONS[t]) return OPTIONS[t];
    const upper = t.toUpperCase();
    if (D.KEY[upper] && D.KEY[upper].is_api) return 'api:' + upper;
    if (D.keyOf(t) === 'unknown') return 'unknown';
    const fam = (P.families || []).filter((f) => f === upper || f + ' FAMILY' === upper)[0];
    return fam ? 'family:' + fam : null;
  }
  function buildFilters() {
    const list = document.getElementById('f-api-list');
    const add = (label, scope, detail) => { const o = el('option'); o.value = label; if (detail) o.label = detail; list.appendChild(o); OPTIONS[label] = scope; };
    add('All APIs', 'all');
    (P.families || []).forEach((f) => add(f + ' family', 'family:' + f));
    D.keys.forEach((k) => {
      if (k.is_api) add(k.key, 'api:' + k.key, k.family + ' · ' + fmt(k.calls) + ' calls');
      else add(k.label, 'unknown', fmt(k.calls) + ' calls');
    });
    const input = document.getElementById('f-api'), from = document.getElementById('f-from'), to = document.getElementById('f-to');
    [from, to].forEach((inp) => { if (DAYS.length) { inp.min = DAYS[0]; inp.max = DAYS[DAYS.length - 1]; } });
    const applyApi = () => {
      const scope = scopeFor(input.value);
      if (scope === null) { document.getElementById('f-status').textContent = 'no API matches "' + input.value + '"'; return; }
      setState({ scope, finding: null });
    };
    input.addEventListener('change', applyApi);
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); applyApi(); } });
    const applyDates = () => setState({ from: from.value || DAYS[0], to: to.value || DAYS[DAYS.length - 1], finding: null });
    from.addEventListener('change', applyDates); to.addEventListener('change', applyDates);
    document.getElementById('f-reset').addEventListener('click', () => setState(whole()));
  }
  function syncFilters() {
    document.getElementById('f-api').value = scopeLabel(state.scope);
    document.getElementById('f-from').value = state.from || '';
    document.getElementById('f-to').value = state.to || '';
    document.getElementById('f-status').textContent = isDefault() ? '' : 'showing ' + D.scopeText(state.scope) + ', ' + D.periodText(view());
  }
  function toHash() {
    const parts = [];
    if (state.scope !== 'all') parts.push('scope=' + encodeURIComponent(state.scope));
    if (DAYS.length && state.from !== DAYS[0]) parts.push('from=' + state.from);
    if (DAYS.length && state.to !== DAYS[DAYS.length - 1]) parts.push('to=' + state.to);
    if (state.finding) parts.push('finding=' + state.finding);
    if (state.region) parts.push('region=' + encodeURIComponent(state.region));
    return parts.length ? '#' + parts.join('&') : '';
  }
  function fromHash() {
    const s = whole(), day = /^\d{4}-\d{2}-\d{2}$/;
    location.hash.replace(/^#/, '').split('&').filter(Boolean).forEach((pair) => {
      const i = pair.indexOf('='), k = pair.slice(0, i), v = decodeURIComponent(pair.slice(i + 1));
      if (k === 'scope' && (v === 'all' || v === 'unknown' || (v.indexOf('api:') === 0 && D.KEY[v.slice(4)]) || (v.indexOf('family:') === 0 && (P.families || []).indexOf(v.slice(7)) >= 0))) s.scope = v;
      else if ((k === 'from' || k === 'to') && day.test(v)) s[k] = v;
      else if (k === 'finding' && /^\d+$/.test(v)) s.finding = Number(v);
      else if (k === 'region' && D.regions.indexOf(v) >= 0) s.region = v;
    });
    return s;
  }
  function clampDates(s) {
    if (!DAYS.length) return s;
    if (!s.from) s.from = DAYS[0];
    if (!s.to) s.to = DAYS[DAYS.length - 1];
    s.from = s.from < DAYS[0] ? DAYS[0] : s.from > DAYS[DAYS.length - 1] ? DAYS[DAYS.length - 1] : s.from;
    s.to = s.to > DAYS[DAYS.length - 1] ? DAYS[DAYS.length - 1] : s.to < DAYS[0] ? DAYS[0] : s.to;
    if (s.from > s.to) { const t = s.from; s.from = s.to; s.to = t; }
    return s;
  }
  function setState(patch) {
    state = clampDates(Object.assign({}, state, patch));
    const hash = toHash();
    if (hash !== location.hash && !(hash === '' && location.hash === '')) history.replaceState(null, '', hash || location.pathname + location.search);
    return render();
  }
  function render() {
    syncFilters();
    renderFindings();
    renderEvidence();
    renderKpis();
    renderProfile();
    renderTables();
    return drawCharts().then(() => { status.drawn = document.querySelectorAll('.js-plotly-plot').length; });
  }

  // ------------------------------------------------------------------ layout
  function regionTool() {
    const tools = el('div', 'card-tools'), lab = el('label', null, 'Region for this chart '), sel = el('select');
    sel.id = 'region-latency_over_time';
    const auto = el('option', null, 'busiest for the API'); auto.value = ''; sel.appendChild(auto);
    D.regions.forEach((r) => { const o = el('option', null, r === 'unknown' ? 'calls without a region' : r); o.value = r; sel.appendChild(o); });
    sel.addEventListener('change', () => setState({ region: sel.value || null }));
    lab.appendChild(sel); tools.appendChild(lab);
    return tools;
  }
  function buildPage() {
    const main = document.getElementById('main'), nav = document.getElementById('nav'), O = P.overview;
    document.getElementById('subtitle').textContent = 'Built ' + P.meta.generated_at + ' from ' + P.meta.warehouse +
      (O ? ' · ' + fmt(O.calls) + ' calls, ' + String(O.first_called_at).slice(0, 10) + ' to ' + String(O.last_called_at).slice(0, 10) : ' · no calls');
    document.getElementById('footer').textContent = 'Aggregates from the marts only, no rows. Every chart and KPI follows the API and date filters, or says in its subtitle that it shows the whole period and why.';
    [['fix', 'Fix first']].concat(SECTIONS).forEach((s) => { const a = el('a', null, s[1]); a.href = '#section-' + s[0]; a.addEventListener('click', (e) => { e.preventDefault(); document.getElementById('section-' + s[0]).scrollIntoView(); }); nav.appendChild(a); });
    SECTIONS.forEach((s) => {
      const sec = el('section'); sec.id = 'section-' + s[0];
      sec.appendChild(el('h2', null, s[1]));
      const grid = el('div', 'grid'); sec.appendChild(grid);
      CHARTS.filter((c) => c.section === s[0]).forEach((c) => {
        const card = el('div', 'card' + (c.wide ? ' wide' : '')); card.id = 'card-' + c.id;
        if (c.id === 'latency_over_time') card.appendChild(regionTool());
        grid.appendChild(card); cards[c.id] = card;
        status.charts.push({ id: c.id, png: c.png, section: c.section, follows: c.follows, drawn: false });
      });
      if (TABLES[s[0]]) { const holder = el('div'); holder.style.display = 'contents'; grid.appendChild(holder); tableBoxes[s[0]] = holder; }
      main.appendChild(sec);
    });
  }

  // ------------------------------------------------------------------ hooks for tests and the PNG export
  status.setView = (patch) => setState(Object.assign({ finding: null }, patch));
  status.state = () => Object.assign({}, state);
  status.scopeFor = scopeFor;
  status.openFinding = (rank) => openFinding(P.findings.filter((f) => f.finding_rank === rank)[0]);
  /** A chart as the page draws it, for any view, without touching the page. */
  status.figure = (id, v, width) => Charts.figure(CHARTS.filter((c) => c.id === id)[0], D, Object.assign(whole(), v || view()), width || 1200, {});
  /** The page's own chart as a PNG data URL, at a fixed width (the PNG export). */
  status.toPng = (id, width) => {
    const div = document.getElementById('chart-' + id);
    const fig = build(CHARTS.filter((c) => c.id === id)[0], width);
    return Plotly.toImage({ data: fig.data, layout: fig.layout, config: { responsive: false } }, { format: 'png', width, height: fig.layout.height || div._fullLayout.height });
  };
  status.Stats = Stats;

  try {
    buildPage();
    buildFilters();
    renderLeftOut();
    state = clampDates(fromHash());
    let resizeTimer = null;
    // redraw when the cards change width (window resize, a scrollbar appearing), not on height changes
    const main = document.getElementById('main');
    const onWidth = () => {
      if (main.clientWidth === lastWidth) return;
      lastWidth = main.clientWidth;
      clearTimeout(resizeTimer); resizeTimer = setTimeout(drawCharts, 150);
    };
    lastWidth = main.clientWidth;
    if (window.ResizeObserver) new ResizeObserver(onWidth).observe(main); else window.addEventListener('resize', onWidth);
    window.addEventListener('hashchange', () => { state = clampDates(fromHash()); render(); });
    render().then(() => { status.ready = true; }, (err) => { status.errors.push(String(err)); status.ready = true; });
  } catch (err) {
    status.errors.push(String(err && err.stack || err));
    console.error('dashboard: ' + err);
    status.ready = true;
  }
})();
