"""The offline HTML dashboard: one file, plotly.js inlined once, data as escaped JSON.

The page draws the figures dashboards.py built (the same dicts as the PNGs) and,
when the API or date filter changes, redraws the filter-aware charts with the
JavaScript twins below, which recompute rates from counts in the embedded
payload (never averaging rates or percentiles). Everything from the data is set
with textContent or handed to plotly as entity-escaped text; nothing is ever
assigned to innerHTML, so a hostile API name or reason renders as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

SECTIONS = (
    ("overview", "Overview"),
    ("latency", "Latency"),
    ("reliability", "Reliability"),
    ("failures", "Failures"),
    ("root_cause", "Root cause"),
    ("data_quality", "Data quality"),
)

# Content-Security-Policy: the page may load nothing from anywhere (offline by
# construction, and a stray <img src=http...> could not phone home either).
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
)


def safe_json(value: Any) -> str:
    """JSON that cannot end its <script> element or be read as markup: <, >, & and the
    two JavaScript line separators are escaped (valid JSON, same value)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(raw, escaped)
    return text


def render_page(
    payload: dict, figures: dict, notes: dict, charts: Iterable[Any], plotly_js: str
) -> str:
    """The whole page as text. Only constant markup is written here; data goes in JSON."""
    if "</script" in plotly_js.lower():
        raise ValueError("plotly.js contains '</script': cannot inline it safely")
    layout = [
        {"id": c.chart_id, "section": c.section, "wide": c.wide, "png": c.png_name}
        for c in charts
    ]  # fmt: skip
    blocks = {
        "payload": payload,
        "figures": figures,
        "notes": notes,
        "charts": layout,
        "sections": [list(s) for s in SECTIONS],
    }
    data_tags = "\n".join(
        f'<script type="application/json" id="data-{name}">{safe_json(value)}</script>'
        for name, value in blocks.items()
    )
    return (
        PAGE.replace("__CSP__", CSP)
        .replace("__CSS__", CSS)
        .replace("__DATA__", data_tags)
        .replace("__PLOTLY__", plotly_js)
        .replace("__APP__", APP_JS)
    )


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="__CSP__">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API Trust dashboard</title>
<style>__CSS__</style>
</head>
<body>
<header class="top">
  <div class="brand">
    <h1>API Trust &amp; Performance</h1>
    <div id="subtitle" class="muted"></div>
  </div>
  <form id="filters" class="filters" autocomplete="off">
    <label>API <select id="f-scope"></select></label>
    <label>From <input type="date" id="f-from"></label>
    <label>To <input type="date" id="f-to"></label>
    <button type="button" id="f-reset">Reset</button>
    <span id="f-status" class="muted"></span>
  </form>
  <nav id="nav"></nav>
</header>
<main id="main"></main>
<footer class="muted" id="footer"></footer>
__DATA__
<script>__PLOTLY__</script>
<script>__APP__</script>
</body>
</html>
"""

CSS = """
:root { --ink:#0f172a; --muted:#475569; --line:#e2e8f0; --bg:#f8fafc; --bad:#dc2626; --ok:#059669; --warn:#d97706; }
* { box-sizing: border-box; }
html { overflow-y: scroll; }  /* the scrollbar exists before plotly sizes the charts */
body { margin:0; font-family: Inter, 'Segoe UI', Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif;
       color:var(--ink); background:var(--bg); font-size:14px; }
.top { position:sticky; top:0; z-index:10; background:#fff; border-bottom:1px solid var(--line);
       padding:8px 20px; display:flex; flex-wrap:wrap; gap:6px 24px; align-items:center; }
.top h1 { font-size:18px; margin:0; }
.brand { min-width:260px; }
.muted { color:var(--muted); font-size:12px; }
.filters { display:flex; gap:12px; align-items:center; flex-wrap:wrap; }
.filters label { font-size:13px; color:var(--muted); display:flex; gap:6px; align-items:center; }
.filters select, .filters input, .filters button { font:inherit; font-size:13px; padding:3px 6px;
       border:1px solid #cbd5e1; border-radius:4px; background:#fff; color:var(--ink); }
.filters select { max-width:260px; }
.filters button { cursor:pointer; }
nav { display:flex; gap:14px; flex-basis:100%; }
nav a { color:#2563eb; text-decoration:none; font-size:13px; }
main { padding:12px 20px 40px; }
section { margin-top:18px; }
section h2 { font-size:17px; margin:8px 0 4px; }
section > p { margin:0 0 10px; color:var(--muted); font-size:13px; max-width:1100px; }
.grid { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:14px; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:6px; min-width:0; }
.card.wide { grid-column:1 / -1; }
.card-tools { display:flex; gap:10px; justify-content:flex-end; align-items:center; font-size:12px; color:var(--muted); padding:2px 6px 0; }
.card-tools select { font:inherit; font-size:12px; }
.note { padding:18px; color:var(--muted); }
.note h3 { font-size:15px; color:var(--ink); margin:0 0 6px; }
.kpis { display:grid; grid-template-columns:repeat(6, minmax(0, 1fr)); gap:12px; margin-bottom:14px; }
.kpi { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 12px; }
.kpi .label { font-size:12px; color:var(--muted); }
.kpi .value { font-size:22px; font-weight:600; margin:2px 0; }
.kpi .detail { font-size:12px; color:var(--muted); }
.kpi.bad .value { color:var(--bad); } .kpi.ok .value { color:var(--ok); } .kpi.warn .value { color:var(--warn); }
.table-wrap { overflow:auto; max-height:520px; }
table { border-collapse:collapse; width:100%; font-size:12.5px; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { position:sticky; top:0; background:#f1f5f9; font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:pre; }
td.long { min-width:210px; }
td.pre { white-space:pre-line; min-width:140px; max-width:200px; overflow-wrap:break-word; }
.card h3 { font-size:15px; margin:6px 8px; }
/* plotly's toolbar only on hover, so it never covers a chart's title in a screenshot */
.js-plotly-plot .modebar-container { opacity:0; transition:opacity .2s; }
.js-plotly-plot:hover .modebar-container { opacity:1; }
.card .sub { font-size:12px; color:var(--muted); margin:0 8px 8px; }
"""

APP_JS = r"""
(function () {
  'use strict';
  function data(name) { return JSON.parse(document.getElementById('data-' + name).textContent); }
  var P = data('payload'), FIGS = data('figures'), NOTES = data('notes'), CHARTS = data('charts'), SECTIONS = data('sections');
  var CONFIG = { displaylogo: false, responsive: true, displayModeBar: 'hover', modeBarButtonsToRemove: ['select2d', 'lasso2d'] };
  var Z95 = 1.959963984540054, CHART_APIS = 8, MIN_HEIGHT = P.meta.min_chart_height, MIN_SERIES_CALLS = P.meta.min_series_calls, MIN_P99_CALLS = P.meta.min_p99_calls;
  var CLASSES = ['client_input', 'fraud_decision', 'auth', 'server', 'timeout'];
  var COLORWAY = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569', '#ea580c'];
  var status = { ready: false, drawn: 0, errors: [], charts: 0 };
  window.__dashboard = status;

  // ------------------------------------------------------------ text helpers (twins of dashboards.py)
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function pt(s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'); }
  function wrap(text, width) {
    var lines = [];
    String(text).split('\n').forEach(function (para) {
      var line = '';
      para.split(' ').forEach(function (w) {
        if (line && line.length + 1 + w.length > width) { lines.push(line); line = w; }
        else { line = line ? line + ' ' + w : w; }
      });
      lines.push(line);
    });
    return lines.map(pt).join('<br>');
  }
  function pct(r, d) { return (r === null || r === undefined || !isFinite(r)) ? 'n/a' : (100 * r).toFixed(d === undefined ? 1 : d) + '%'; }
  function ms(v) { return (v === null || v === undefined) ? 'n/a' : (v >= 1000 ? (v / 1000).toFixed(1) + ' s' : v.toFixed(0) + ' ms'); }
  function fmt(n) { return Number(n).toLocaleString('en-US'); }
  function drawnMask(calls) {  // as drawn_mask in dashboards.py: rates of near-empty periods are not drawn
    var busy = calls.filter(function (c) { return c > 0; }).sort(function (a, b) { return a - b; });
    var typical = busy.length ? (busy[Math.floor((busy.length - 1) / 2)] + busy[Math.floor(busy.length / 2)]) / 2 : 0;
    var mask = calls.map(function (c) { return c > 0 && c >= P.meta.sparse_share * typical; });
    return [mask, calls.filter(function (c, i) { return c > 0 && !mask[i]; }).length];
  }
  function sparseNote(blank, unit) {
    return blank ? '; ' + blank + ' ' + unit + (blank === 1 ? '' : 's') + ' with under ' + Math.round(P.meta.sparse_share * 100) + '% of the median ' + unit + "'s calls left blank" : '';
  }
  function wilson(hits, n) {
    if (n <= 0) return [null, null];
    var p = hits / n, z = Z95, den = 1 + z * z / n;
    var c = (p + z * z / (2 * n)) / den, h = z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den;
    return [Math.max(0, c - h), Math.min(1, c + h)];
  }
  function rgba(hex, a) {
    return 'rgba(' + parseInt(hex.slice(1, 3), 16) + ',' + parseInt(hex.slice(3, 5), 16) + ',' + parseInt(hex.slice(5, 7), 16) + ',' + a + ')';
  }
  function clone(o) { return JSON.parse(JSON.stringify(o)); }
  function setTitle(fig, title, subtitle) {
    var wrapAt = (fig.layout.meta && fig.layout.meta.wrap_at) || 66;
    fig.layout.title.text = '<b>' + wrap(title, wrapAt) + "</b><br><span style='font-size:12px;color:#475569'>" +
      wrap(subtitle, Math.floor(wrapAt * 1.25)) + '</span>';
  }
  function versionKey(v) {
    var parts = String(v).replace(/[^0-9.]+/g, ' ').trim().split(/[ .]+/).filter(Boolean).map(Number);
    return parts.length ? parts : [0];
  }
  function versionCmp(a, b) {
    var x = versionKey(a), y = versionKey(b);
    for (var i = 0; i < Math.max(x.length, y.length); i++) {
      var d = (x[i] === undefined ? -1 : x[i]) - (y[i] === undefined ? -1 : y[i]);
      if (d) return d;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  // ------------------------------------------------------------ filter state
  var KEYS = P.keys || [], DAYS = P.days || [], REGIONS = P.meta.regions;
  var state = { scope: 'all', from: DAYS[0] || null, to: DAYS[DAYS.length - 1] || null };
  function isDefault() { return state.scope === 'all' && state.from === (DAYS[0] || null) && state.to === (DAYS[DAYS.length - 1] || null); }
  function scopeText(scope) {
    if (scope === 'all') return 'all APIs';
    var i = scope.indexOf(':'), kind = scope.slice(0, i), name = scope.slice(i + 1);
    return kind === 'family' ? name + ' family' : name;
  }
  function among(n, scope, what) { return scope.indexOf('api:') === 0 ? scopeText(scope) : n + ' ' + what + ' of ' + scopeText(scope); }
  function keyInScope(key, scope) {
    if (scope === 'all') return true;
    var i = scope.indexOf(':'), kind = scope.slice(0, i), name = scope.slice(i + 1);
    return kind === 'family' ? key.family === name : key.key === name;
  }
  function dayIn(day) { return (!state.from || day >= state.from) && (!state.to || day <= state.to); }
  function periodText() {
    if (!DAYS.length) return 'whole period';
    return (state.from === DAYS[0] && state.to === DAYS[DAYS.length - 1]) ? 'whole period' : state.from + ' to ' + state.to;
  }
  var API = {};
  if (P.apis) P.apis.api_name.forEach(function (a, i) {
    API[a] = { calls: P.apis.calls[i], p50: P.apis.p50_latency_ms[i], p95: P.apis.p95_latency_ms[i], p99: P.apis.p99_latency_ms[i], family: P.apis.api_family[i] };
  });
  var KEY = {}; KEYS.forEach(function (k) { KEY[k.key] = k; });
  function apisInScope(scope) {
    return Object.keys(API).filter(function (a) { return KEY[a] && keyInScope(KEY[a], scope); })
      .sort(function (a, b) { return API[b].calls - API[a].calls || (a < b ? -1 : 1); });
  }

  // ------------------------------------------------------------ cubes
  function dailyRows() {
    var c = P.daily, out = [];
    if (!c) return out;
    for (var i = 0; i < c.d.length; i++) {
      if (!keyInScope(KEYS[c.k[i]], state.scope) || !dayIn(DAYS[c.d[i]])) continue;
      out.push(i);
    }
    return out;
  }

  // ------------------------------------------------------------ chart twins
  var BUILD = {};

  BUILD.daily_volume = function (fig) {
    var c = P.daily, per = {};
    dailyRows().forEach(function (i) {
      var d = DAYS[c.d[i]];
      per[d] = per[d] || [0, 0];
      per[d][0] += c.calls[i]; per[d][1] += c.failures[i];
    });
    var days = Object.keys(per).sort(), calls = days.map(function (d) { return per[d][0]; }), fails = days.map(function (d) { return per[d][1]; });
    var dm = drawnMask(calls), drawn = dm[0];
    var rates = days.map(function (d, i) { return drawn[i] ? fails[i] / calls[i] : null; });
    var b = days.map(function (d, i) { return drawn[i] ? wilson(fails[i], calls[i]) : [null, null]; });
    fig.data[0].x = days; fig.data[0].y = calls;
    fig.data[1].x = days; fig.data[1].y = b.map(function (x) { return x[1]; });
    fig.data[2].x = days; fig.data[2].y = b.map(function (x) { return x[0]; });
    fig.data[3].x = days; fig.data[3].y = rates;
    fig.data[3].customdata = days.map(function (d, i) { return [fails[i], calls[i]]; });
    var st = scopeText(state.scope), title = 'How many calls fail each day? (' + st + ')';
    if (days.length) {
      var worst = 0;
      rates.forEach(function (r, i) { if ((r || 0) > (rates[worst] || 0)) worst = i; });
      var tc = calls.reduce(function (a, x) { return a + x; }, 0), tf = fails.reduce(function (a, x) { return a + x; }, 0);
      title = 'Worst day ' + days[worst] + ': ' + pct(rates[worst]) + ' of calls failed (period ' + pct(tc ? tf / tc : null) + ', ' + st + ')';
    }
    setTitle(fig, title, 'Calls per day (grey bars, left) and share that failed, any class, with Wilson 95% band (red, right); ' +
      st + ', ' + periodText() + sparseNote(dm[1], 'day') + ' (agg_api_daily)');
    return fig;
  };

  BUILD.latency_distribution = function (fig) {
    var h = P.histogram, per = h.per_decade, names = apisInScope(state.scope).slice(0, CHART_APIS).reverse();
    var byKey = {};
    for (var i = 0; i < h.k.length; i++) { var k = KEYS[h.k[i]].key; (byKey[k] = byKey[k] || []).push([h.b[i], h.calls[i]]); }
    var data = [];
    names.forEach(function (name, i) {
      var rows = (byKey[name] || []).slice().sort(function (a, b) { return a[0] - b[0]; });
      if (!rows.length) return;
      var total = rows.reduce(function (a, r) { return a + r[1]; }, 0), share = rows.map(function (r) { return r[1] / total; });
      var peak = Math.max.apply(null, share);
      var xs = rows.map(function (r) { return Math.pow(10, r[0] / per); }).concat([Math.pow(10, (rows[rows.length - 1][0] + 1) / per)]);
      var ys = share.map(function (s) { return i + 0.85 * s / peak; }).concat([i + 0.85 * share[share.length - 1] / peak]);
      var color = COLORWAY[(names.length - 1 - i) % COLORWAY.length];
      data.push({ type: 'scatter', x: [xs[0], xs[xs.length - 1]], y: [i, i], mode: 'lines', line: { width: 0.5, color: '#94a3b8' }, hoverinfo: 'skip', showlegend: false });
      data.push({ type: 'scatter', x: xs, y: ys, mode: 'lines', line: { shape: 'hv', color: color, width: 1.5 }, fill: 'tonexty',
        fillcolor: rgba(color, 0.2), name: pt(name), showlegend: false,
        customdata: share.map(function (s) { return Math.round(10000 * s) / 100; }).concat([null]),
        hovertemplate: pt(name) + '<br>%{x:.0f} ms and up: %{customdata}% of calls<extra></extra>' });
    });
    [['p50', 'circle'], ['p95', 'diamond'], ['p99', 'x-thin-open']].forEach(function (m) {
      data.push({ type: 'scatter', mode: 'markers', name: m[0], legendgroup: m[0],
        x: names.map(function (n) { return API[n][m[0]]; }), y: names.map(function (n, i) { return i; }),
        marker: { symbol: m[1], size: 10, color: '#0f172a', line: { width: 2, color: '#0f172a' } },
        customdata: names.map(pt), hovertemplate: '%{customdata} ' + m[0] + ': %{x:.0f} ms (exact)<extra></extra>' });
    });
    fig.data = data;
    fig.layout.height = Math.max(MIN_HEIGHT, 230 + 48 * names.length);
    fig.layout.yaxis.tickvals = names.map(function (n, i) { return i; });
    fig.layout.yaxis.ticktext = names.map(pt);
    fig.layout.yaxis.range = [-0.4, names.length + 0.1];
    var title = 'No latency histogram for ' + scopeText(state.scope);
    if (names.length) {
      var slow = names.slice().sort(function (a, b) { return API[b].p99 - API[a].p99; })[0];
      var fast = names.slice().sort(function (a, b) { return API[a].p50 - API[b].p50; })[0];
      title = names.length === 1 ? slow + ': p50 ' + ms(API[slow].p50) + ', p95 ' + ms(API[slow].p95) + ', p99 ' + ms(API[slow].p99)
        : slow + ' has the slowest tail (p99 ' + ms(API[slow].p99) + '); ' + fast + ' answers fastest (p50 ' + ms(API[fast].p50) + ')';
    }
    setTitle(fig, title, 'Share of calls per latency bucket, ' + among(names.length, state.scope, 'busiest APIs') +
      ', whole period (histogram mart); markers: exact p50 / p95 / p99 from agg_latency_by_api');
    return fig;
  };

  function versionRows(api) {
    var v = P.versions, out = [];
    if (!v) return out;
    for (var i = 0; i < v.api_name.length; i++) if (v.api_name[i] === api) {
      out.push({ version: v.api_version[i], calls: v.calls[i], p50: v.p50_latency_ms[i], p95: v.p95_latency_ms[i], latest: v.is_latest_version[i] });
    }
    return out.sort(function (a, b) { return versionCmp(a.version, b.version); });
  }

  function busiestInScope(scope, candidates) {
    var inside = candidates.filter(function (a) { return KEY[a] && keyInScope(KEY[a], scope); });
    inside.sort(function (a, b) { return (API[b] ? API[b].calls : 0) - (API[a] ? API[a].calls : 0) || (a < b ? 1 : -1); });
    return inside.length ? inside[0] : null;
  }
  function latencyFocus(scope) {
    var candidates = P.daily_latency_apis, busiest = busiestInScope(scope, candidates);
    if (busiest === null || scope.indexOf('api:') === 0) return [busiest, 'the selected API'];
    var best = null;
    candidates.forEach(function (a) {
      var vr = versionRows(a);
      if (KEY[a] && keyInScope(KEY[a], scope) && vr.length >= 2 && vr[vr.length - 2].p95) {
        var ratio = vr[vr.length - 1].p95 / vr[vr.length - 2].p95;
        if (ratio >= 1.2 && (best === null || ratio > best[0])) best = [ratio, a];
      }
    });
    return best ? [best[1], 'latest version slowed down most'] : [busiest, 'busiest API'];
  }

  var latencyRegion = null;
  BUILD.latency_over_time = function (fig) {
    var L = P.daily_latency, apis = P.daily_latency_apis;
    var focus = latencyFocus(state.scope), api = focus[0], why = focus[1];
    if (!api) {
      fig.data = [];
      setTitle(fig, 'Latency over time', 'No per-day latency embedded for ' + scopeText(state.scope));
      return fig;
    }
    var ai = apis.indexOf(api), rows = [], byRegion = {};
    for (var i = 0; i < L.d.length; i++) if (L.a[i] === ai) { rows.push(i); byRegion[REGIONS[L.r[i]]] = (byRegion[REGIONS[L.r[i]]] || 0) + L.calls[i]; }
    var region = latencyRegion;
    if (!region || !byRegion[region]) region = Object.keys(byRegion).sort(function (a, b) { return byRegion[b] - byRegion[a]; })[0] || REGIONS[0];
    rows = rows.filter(function (i) { return REGIONS[L.r[i]] === region && dayIn(DAYS[L.d[i]]); });
    var versions = [];
    rows.forEach(function (i) { if (versions.indexOf(L.v[i]) < 0) versions.push(L.v[i]); });
    versions.sort(versionCmp);
    var data = [];
    versions.forEach(function (version, vi) {
      var part = rows.filter(function (i) { return L.v[i] === version; }).sort(function (a, b) { return L.d[a] - L.d[b]; });
      var color = COLORWAY[vi % COLORWAY.length];
      [['p50', 'dot', 1.5], ['p95', 'solid', 2.5], ['p99', 'dash', 1.5]].forEach(function (s) {
        data.push({ type: 'scatter', mode: 'lines+markers', name: pt(version) + ' ' + s[0], legendgroup: pt(version),
          x: part.map(function (i) { return DAYS[L.d[i]]; }), y: part.map(function (i) { return L[s[0]][i]; }),
          line: { color: color, dash: s[1], width: s[2] }, marker: { size: 4 }, customdata: part.map(function (i) { return L.calls[i]; }),
          hovertemplate: pt(api) + ' ' + pt(version) + ' ' + pt(region) + ' %{x}: ' + s[0] + ' %{y:,} ms (%{customdata} calls)<extra></extra>' });
      });
    });
    fig.data = data;
    var vr = versionRows(api), title = api + ': how do p50, p95 and p99 move day by day?';
    if (vr.length >= 2 && vr[vr.length - 2].p95) {
      var latest = vr[vr.length - 1], prev = vr[vr.length - 2];
      title = api + ': ' + latest.version + ' p95 is ' + ms(latest.p95) + ' vs ' + ms(prev.p95) + ' on ' + prev.version +
        ' (' + (latest.p95 / prev.p95).toFixed(1) + 'x, whole period)';
    }
    setTitle(fig, title, api + ' (' + why + ') in ' + region + ': daily p50 (dotted), p95 (solid), p99 (dashed) per version, exact per ' +
      'day x version x region (percentiles do not pool); days under ' + MIN_SERIES_CALLS + ' calls not drawn, p99 only from ' +
      MIN_P99_CALLS + ' calls; ' + periodText() + ' (agg_api_daily)');
    fig.layout.meta.api = pt(api); fig.layout.meta.region = pt(region);
    return fig;
  };

  BUILD.latency_by_version = function (fig) {
    var shown = apisInScope(state.scope).slice(0, CHART_APIS), versions = [];
    shown.forEach(function (a) { versionRows(a).forEach(function (r) { if (versions.indexOf(r.version) < 0) versions.push(r.version); }); });
    versions.sort(versionCmp);
    fig.data = versions.map(function (version, i) {
      var names = shown.filter(function (a) { return versionRows(a).some(function (r) { return r.version === version; }); });
      var rows = names.map(function (a) { return versionRows(a).filter(function (r) { return r.version === version; })[0]; });
      return { type: 'bar', name: pt(version), x: names.map(pt), y: rows.map(function (r) { return r.p95; }),
        marker: { color: COLORWAY[i % COLORWAY.length] },
        customdata: rows.map(function (r) { return [r.calls, r.p50, r.latest ? 'latest' : 'older']; }),
        hovertemplate: '%{x} ' + pt(version) + ' (%{customdata[2]}): p95 %{y:,.0f} ms, p50 %{customdata[1]:,.0f} ms, %{customdata[0]:,} calls<extra></extra>' };
    });
    var worst = null;
    shown.forEach(function (a) {
      var vr = versionRows(a);
      if (vr.length >= 2 && vr[vr.length - 2].p95) {
        var ratio = vr[vr.length - 1].p95 / vr[vr.length - 2].p95;
        if (!worst || ratio > worst[0]) worst = [ratio, a, vr[vr.length - 1], vr[vr.length - 2]];
      }
    });
    var title;
    if (worst && worst[0] >= 1.2) title = worst[1] + ' ' + worst[2].version + ' is ' + worst[0].toFixed(1) + 'x slower at p95 than ' + worst[3].version + ': a latency regression';
    else if (worst) title = 'No latest version is much slower than the one before it (largest p95 ratio ' + worst[0].toFixed(2) + 'x, ' + worst[1] + ')';
    else title = 'p95 latency per version (' + scopeText(state.scope) + ')';
    setTitle(fig, title, 'Exact p95 per API version, whole period, ' + among(shown.length, state.scope, 'busiest APIs') + ' (agg_latency_by_api_version)');
    return fig;
  };

  BUILD.success_by_region = function (fig) {
    var c = P.daily, per = {};
    dailyRows().forEach(function (i) {
      var r = REGIONS[c.r[i]];
      per[r] = per[r] || [0, 0];
      per[r][0] += c.calls[i]; per[r][1] += c.failures[i];
    });
    var regions = REGIONS.filter(function (r) { return per[r]; });
    var calls = regions.map(function (r) { return per[r][0]; }), succ = regions.map(function (r) { return per[r][0] - per[r][1]; });
    var rates = regions.map(function (r, i) { return calls[i] ? succ[i] / calls[i] : null; });
    var b = regions.map(function (r, i) { return wilson(succ[i], calls[i]); });
    var ranked = regions.map(function (r, i) { return [rates[i], r, b[i][0], b[i][1]]; }).filter(function (x) { return x[0] !== null; })
      .sort(function (x, y) { return x[0] - y[0] || (x[1] < y[1] ? -1 : 1); });
    var title = 'How often do calls succeed in each region?';
    if (ranked.length >= 3) {
      var lo = ranked[0], lo2 = ranked[1], best = ranked[ranked.length - 1];
      title = lo[1] + ' and ' + lo2[1] + ' succeed least: ' + pct(lo[0]) + ' and ' + pct(lo2[0]) + ' vs ' + best[1] + ' ' + pct(best[0]) +
        (lo[3] < best[2] ? ' (intervals do not overlap)' : '');
    }
    var worstTwo = ranked.slice(0, 2).map(function (x) { return x[1]; });
    var lows = b.map(function (x) { return x[0]; }).filter(function (x) { return x !== null; });
    var t = fig.data[0];
    t.x = regions.map(pt); t.y = rates;
    t.marker.color = regions.map(function (r) { return ranked.length >= 3 && worstTwo.indexOf(r) >= 0 ? '#dc2626' : '#2563eb'; });
    t.error_y.array = b.map(function (x, i) { return x[1] === null ? null : x[1] - rates[i]; });
    t.error_y.arrayminus = b.map(function (x, i) { return x[0] === null ? null : rates[i] - x[0]; });
    fig.layout.xaxis.tickvals = t.x;
    fig.layout.xaxis.ticktext = t.x.map(function (g, i) { return g + '<br><b>' + pct(rates[i]) + '</b>'; });
    t.customdata = regions.map(function (r, i) { return [calls[i], pct(b[i][0], 2), pct(b[i][1], 2)]; });
    fig.layout.yaxis.range = [lows.length ? Math.max(0, Math.min.apply(null, lows) - 0.03) : 0, 1];
    setTitle(fig, title, 'Share of calls that succeeded, bars with Wilson 95% intervals; ' + scopeText(state.scope) + ', ' + periodText() + ' (agg_api_daily)');
    return fig;
  };

  BUILD.error_reasons = function (fig) {
    var e = P.errors, perApi = {}, cell = {}, reasonTotal = {}, reasonClass = {};
    for (var i = 0; i < e.k.length; i++) {
      var key = KEYS[e.k[i]];
      if (!key.is_api || !keyInScope(key, state.scope)) continue;
      perApi[key.key] = (perApi[key.key] || 0) + e.failures[i];
    }
    var apis = Object.keys(perApi).sort(function (a, b) { return perApi[b] - perApi[a] || (a < b ? -1 : 1); }).slice(0, 10);
    for (i = 0; i < e.k.length; i++) {
      var name = KEYS[e.k[i]].key;
      if (apis.indexOf(name) < 0) continue;
      cell[name + '\u0000' + e.reason[i]] = (cell[name + '\u0000' + e.reason[i]] || 0) + e.failures[i];
      reasonTotal[e.reason[i]] = (reasonTotal[e.reason[i]] || 0) + e.failures[i];
      reasonClass[e.reason[i]] = e['class'][i];
    }
    if (!apis.length) { fig.data = []; setTitle(fig, 'No failures for ' + scopeText(state.scope), 'agg_error_reasons_by_api has no rows in scope'); return fig; }
    var rank = function (c) { var r = CLASSES.indexOf(c); return r < 0 ? 99 : r; };
    var reasons = Object.keys(reasonTotal).sort(function (a, b) {
      return rank(reasonClass[a]) - rank(reasonClass[b]) || reasonTotal[b] - reasonTotal[a] || (a < b ? -1 : 1);
    });
    var z = apis.map(function (a) { return reasons.map(function (r) { var n = cell[a + '\u0000' + r] || 0; return perApi[a] ? n / perApi[a] : null; }); });
    var text = apis.map(function (a) { return reasons.map(function (r) { var n = cell[a + '\u0000' + r] || 0; return n ? fmt(n) : ''; }); });
    var t = fig.data[0];
    t.x = reasons.map(pt); t.y = apis.map(pt); t.z = z; t.text = text;
    t.customdata = apis.map(function () { return reasons.map(function (r) { return pt(reasonClass[r]); }); });
    var top = apis[0], topReason = reasons.slice().sort(function (a, b) { return (cell[top + '\u0000' + b] || 0) - (cell[top + '\u0000' + a] || 0); })[0];
    fig.layout.height = Math.max(MIN_HEIGHT, 260 + 34 * apis.length);
    var bands = classBands(reasons.map(function (r) { return reasonClass[r]; }));
    fig.layout.shapes = bands[0]; fig.layout.annotations = bands[1];
    setTitle(fig, top + ' fails most, mostly on ' + topReason + ': ' + pct((cell[top + '\u0000' + topReason] || 0) / perApi[top]) + ' of its ' + fmt(perApi[top]) + ' failures',
      'Failures per API and error reason (number in cell), colour = share of that API\'s failures; reasons grouped by failure class; ' +
      among(apis.length, state.scope, 'APIs with most failures') + ', whole period');
    return fig;
  };

  function classBands(classes) {
    var shapes = [], notes = [], start = 0;
    for (var i = 1; i <= classes.length; i++) {
      if (i === classes.length || classes[i] !== classes[start]) {
        notes.push({ x: (start + i - 1) / 2, y: 1, xref: 'x', yref: 'paper', yanchor: 'bottom', text: pt(classes[start]), showarrow: false,
          font: { size: 11, color: '#475569' } });
        if (i < classes.length) shapes.push({ type: 'line', xref: 'x', yref: 'paper', x0: i - 0.5, x1: i - 0.5, y0: 0, y1: 1.06, line: { color: '#0f172a', width: 2 } });
        start = i;
      }
    }
    return [shapes, notes];
  }

  var SLO_VERDICTS = { significant: 'misses its availability SLO beyond doubt', breached: 'is over its error budget (within noise)',
    at_risk: 'is at risk of missing its availability SLO', ok: 'meets its availability SLO' };
  var SLO_COLORS = { significant: '#b91c1c', breached: '#f97316', at_risk: '#eab308', ok: '#059669' };
  function sloState(r) { return (r.status === 'breached' && r.is_breach_significant) ? 'significant' : String(r.status || 'ok'); }
  function sloInScope(r, scope) { return keyInScope(KEY[r.api_name] || { key: r.api_name, family: r.api_family }, scope); }

  BUILD.slo_burn = function (fig) {
    var inside = P.slo.filter(function (r) { return sloInScope(r, state.scope); });
    if (!inside.length) { fig.data = []; setTitle(fig, 'No SLO rows for ' + scopeText(state.scope), 'agg_slo_status has no API in scope'); return fig; }
    var ranked = inside.slice().sort(function (a, b) {
      return ((b.bad_calls || 0) - (b.error_budget_calls || 0)) - ((a.bad_calls || 0) - (a.error_budget_calls || 0)) || (a.api_name < b.api_name ? -1 : 1);
    }).slice(0, 15).reverse();
    var names = ranked.map(function (r) { return pt(r.api_name); });
    var sig = inside.filter(function (r) { return sloState(r) === 'significant'; }).length;
    var breached = inside.filter(function (r) { return r.status === 'breached'; }).length;
    var worst = ranked[ranked.length - 1];
    fig.data[0].y = names; fig.data[0].x = ranked.map(function (r) { return r.budget_consumed; });
    fig.data[0].marker.color = ranked.map(function (r) { return SLO_COLORS[sloState(r)] || '#64748b'; });
    fig.data[0].customdata = ranked.map(function (r) { return [r.bad_calls, Math.round(10 * (r.error_budget_calls || 0)) / 10, pct(r.availability, 2), pct(r.availability_target, 2), pt(sloState(r))]; });
    fig.data[1].y = names; fig.data[1].x = ranked.map(function (r) { return r.burn_rate_6h; });
    fig.data[2].y = names; fig.data[2].x = ranked.map(function (r) { return r.burn_rate_1h; });
    [[3, true], [4, false]].forEach(function (t) {
      var part = ranked.filter(function (r) { return !!r.is_latency_slo_attained === t[1]; });
      fig.data[t[0]].y = part.map(function (r) { return pt(r.api_name); });
      fig.data[t[0]].x = part.map(function (r) { return r.latency_good_rate; });
      fig.data[t[0]].customdata = part.map(function (r) { return [ms(r.latency_slo_ms), pct(r.latency_target, 0)]; });
    });
    fig.layout.yaxis.categoryarray = names;
    var lows = ranked.map(function (r) { return r.latency_good_rate; }).filter(function (v) { return v !== null && v !== undefined; });
    fig.layout.xaxis2.range = [Math.max(0, (lows.length ? Math.min.apply(null, lows) : 0) - 0.05), 1];
    fig.layout.height = Math.max(MIN_HEIGHT, 230 + 26 * ranked.length);
    var sloTitle = inside.length === 1 ? worst.api_name + ' ' + (SLO_VERDICTS[sloState(worst)] || SLO_VERDICTS.ok) + ': ' + (worst.budget_consumed || 0).toFixed(1) + 'x its error budget burnt'
      : sig + ' of ' + inside.length + ' APIs miss their availability SLO beyond doubt (' + breached + ' over budget); ' +
      worst.api_name + ' burnt ' + (worst.budget_consumed || 0).toFixed(1) + 'x its error budget';
    setTitle(fig, sloTitle,
      'Left: error budget burnt (bad calls / allowed bad calls; 1 = exactly on budget, dashed) for ' +
      among(ranked.length, state.scope, 'APIs furthest over budget in calls') + '; dark red = interval clears the target. Right: share of calls ' +
      'answered successfully within the API\'s latency SLO (dashed: target). Whole period (agg_slo_status)');
    return fig;
  };

  function hourlyKeys() {
    var H = P.hourly, scope = state.scope, i = scope.indexOf(':'), kind = scope.slice(0, i), name = scope.slice(i + 1), idx = [];
    if (scope === 'all') { H.keys.forEach(function (k, j) { idx.push(j); }); return [idx, 'all APIs']; }
    if (kind === 'api' && H.keys.indexOf(name) < 0) {
      var fam = KEY[name] ? KEY[name].family : null;
      H.key_family.forEach(function (f, j) { if (f === fam) idx.push(j); });
      return [idx, fam + ' family (no hourly series of its own for ' + name + ')'];
    }
    if (kind === 'api') return [[H.keys.indexOf(name)], name];
    H.key_family.forEach(function (f, j) { if (f === name) idx.push(j); });
    return [idx, name + ' family'];
  }

  BUILD.incident_timeline = function (fig, base) {
    var H = P.hourly, hk = hourlyKeys(), wanted = {}, n = H.hours.length;
    hk[0].forEach(function (k) { wanted[k] = true; });
    var calls = new Array(n).fill(0), fails = new Array(n).fill(0), plat = new Array(n).fill(0);
    for (var i = 0; i < H.h.length; i++) if (wanted[H.k[i]]) { calls[H.h[i]] += H.calls[i]; fails[H.h[i]] += H.failures[i]; plat[H.h[i]] += H.platform_failures[i]; }
    var hours = []; for (i = 0; i < n; i++) if (dayIn(H.hours[i].slice(0, 10))) hours.push(i);
    var x = hours.map(function (h) { return H.hours[h]; });
    var dm = drawnMask(hours.map(function (h) { return calls[h]; })), drawn = dm[0];
    var rate = hours.map(function (h, j) { return drawn[j] ? fails[h] / calls[h] : null; });
    var prate = hours.map(function (h, j) { return drawn[j] ? plat[h] / calls[h] : null; });
    fig.data[0].x = x; fig.data[0].y = rate; fig.data[0].customdata = hours.map(function (h) { return calls[h]; });
    fig.data[1].x = x; fig.data[1].y = prate; fig.data[1].customdata = hours.map(function (h) { return plat[h]; });
    var windows = incidentWindows().filter(function (w) { return x.length && w.end.slice(0, 13) >= x[0].slice(0, 13) && w.start.slice(0, 13) <= x[x.length - 1].slice(0, 13); });
    fig.layout.shapes = windows.map(function (w) {
      return { type: 'rect', xref: 'x', yref: 'paper', x0: w.start, x1: w.end, y0: 0, y1: 1, fillcolor: 'rgba(217,119,6,0.18)',
        line: { width: 1, color: 'rgba(217,119,6,0.6)' }, layer: 'below' };
    });
    fig.layout.annotations = windows.map(function (w, j) {
      return { x: w.start, y: 1 - 0.09 * (j % 4), xref: 'x', yref: 'paper', xanchor: 'left', text: pt(w.label).slice(0, 60), showarrow: false,
        font: { size: 11, color: '#92400e' }, bgcolor: 'rgba(255,255,255,0.7)' };
    });
    var worst = null;
    hours.forEach(function (h, j) { var v = calls[h] >= 20 ? (prate[j] || 0) : 0; if (worst === null || v > (calls[hours[worst]] >= 20 ? (prate[worst] || 0) : 0)) worst = j; });
    var title = (worst !== null && prate[worst]) ? 'Worst hour ' + x[worst] + ' UTC: ' + pct(prate[worst]) + ' of calls failed on the platform side (' + hk[1] + ')'
      : 'When did ' + hk[1] + ' fail on the platform side?';
    if (P.incidents) title += '; ' + windows.length + ' incident' + (windows.length === 1 ? '' : 's') + ' marked';
    setTitle(fig, title, 'Hourly share of calls that failed: any class (grey) and server or timeout only (red); shaded: incidents from rca_incidents; ' +
      hk[1] + ', ' + periodText() + (H.is_truncated ? ', last ' + P.meta.max_hourly_days + ' days only' : '') +
      sparseNote(dm[1], 'hour') + ' (agg_api_hourly)');
    return fig;
  };

  function incidentWindows() {
    var out = [];
    (P.incidents || []).forEach(function (r) {
      var key = KEY[r.api_name] || { key: r.api_name, family: '' };
      if (r.started_at && keyInScope(key, state.scope)) {
        var label = [r.api_name, r.dominant_error_reason].filter(function (v) { return v; }).join(' ');
        out.push({ start: r.started_at, end: r.ended_at || r.started_at, label: label });
      }
    });
    return out;
  }

  // ------------------------------------------------------------ page
  var divs = {};
  function draw(id) {
    var base = FIGS[id], div = divs[id];
    if (!base || !div) return Promise.resolve();
    var fig = (isDefault() || !BUILD[id]) ? clone(base) : BUILD[id](clone(base));
    if (isDefault() && id === 'latency_over_time' && latencyRegion) fig = BUILD[id](clone(base));
    return Plotly.react(div, fig.data, fig.layout, CONFIG);
  }
  function drawAll() {
    var jobs = Object.keys(divs).map(function (id) {
      return draw(id).catch(function (err) { status.errors.push(id + ': ' + err); console.error('chart ' + id + ': ' + err); });
    });
    renderKpis();
    renderTables();
    return Promise.all(jobs);
  }

  function noteCard(card, title, text) {
    var box = el('div', 'note');
    box.appendChild(el('h3', null, title));
    box.appendChild(el('div', null, text));
    card.appendChild(box);
  }
  function tableCard(parent, title, sub, columns, rows, wide) {
    var card = el('div', 'card' + (wide ? ' wide' : ''));
    card.appendChild(el('h3', null, title));
    if (sub) card.appendChild(el('div', 'sub', sub));
    var wrapDiv = el('div', 'table-wrap'), table = el('table'), thead = el('thead'), tr = el('tr');
    columns.forEach(function (c) { tr.appendChild(el('th', null, c[1])); });
    thead.appendChild(tr); table.appendChild(thead);
    var tbody = el('tbody');
    rows.forEach(function (r) {
      var row = el('tr');
      columns.forEach(function (c) {
        var v = typeof c[0] === 'function' ? c[0](r) : r[c[0]];
        var td = el('td', c[2] || null, v === null || v === undefined ? '' : (typeof v === 'number' && !c[2] ? fmt(v) : v));
        if (c[2] === 'num' && typeof v === 'number') td.textContent = fmt(Math.round(v * 100) / 100);
        row.appendChild(td);
      });
      tbody.appendChild(row);
    });
    table.appendChild(tbody); wrapDiv.appendChild(table); card.appendChild(wrapDiv);
    parent.appendChild(card);
    return card;
  }

  var kpiBox = null, tableBoxes = {};
  function kpi(label, value, detail, tone) {
    var box = el('div', 'kpi' + (tone ? ' ' + tone : ''));
    box.appendChild(el('div', 'label', label));
    box.appendChild(el('div', 'value', value));
    box.appendChild(el('div', 'detail', detail));
    kpiBox.appendChild(box);
  }
  function histogramP95(scope) {
    var h = P.histogram, counts = {}, total = 0;
    if (!h) return null;
    for (var i = 0; i < h.k.length; i++) if (keyInScope(KEYS[h.k[i]], scope)) { counts[h.b[i]] = (counts[h.b[i]] || 0) + h.calls[i]; total += h.calls[i]; }
    var buckets = Object.keys(counts).map(Number).sort(function (a, b) { return a - b; }), seen = 0;
    for (i = 0; i < buckets.length; i++) { seen += counts[buckets[i]]; if (seen >= 0.95 * total) return Math.pow(10, (buckets[i] + 1) / h.per_decade); }
    return null;
  }
  function renderKpis() {
    if (!kpiBox) return;
    kpiBox.textContent = '';
    var O = P.overview, st = scopeText(state.scope);
    if (!O) { kpi('Calls', 'n/a', (P.missing.overview || 'agg_platform_overview missing')); return; }
    var calls = O.calls, fails = O.failures;
    if (!isDefault() && P.daily) {
      calls = 0; fails = 0;
      dailyRows().forEach(function (i) { calls += P.daily.calls[i]; fails += P.daily.failures[i]; });
    }
    var b = wilson(calls - fails, calls), rate = calls ? (calls - fails) / calls : null;
    kpi('Calls', fmt(calls), st + ', ' + periodText());
    kpi('Success rate', pct(rate, 2), '95% interval ' + pct(b[0], 2) + ' to ' + pct(b[1], 2), rate !== null && rate < 0.95 ? 'warn' : 'ok');
    if (state.scope === 'all') kpi('p95 latency', ms(O.p95_latency_ms), 'exact, whole period (p50 ' + ms(O.p50_latency_ms) + ', p99 ' + ms(O.p99_latency_ms) + ')');
    else kpi('p95 latency', '\u2248 ' + ms(histogramP95(state.scope)), 'from the histogram (within 12%), whole period');
    if (P.slo && P.slo.length) {
      var rows = P.slo.filter(function (r) { var k = KEY[r.api_name] || { key: r.api_name, family: r.api_family }; return keyInScope(k, state.scope); });
      var sig = rows.filter(function (r) { return sloState(r) === 'significant'; }).length;
      var over = rows.filter(function (r) { return r.status === 'breached'; }).length;
      kpi('SLO status', sig + ' of ' + rows.length + ' APIs', 'miss availability beyond doubt (' + over + ' over budget); ' + st + ', whole period', sig ? 'bad' : 'ok');
    } else kpi('SLO status', 'n/a', P.missing.slo || 'agg_slo_status has no rows');
    if (P.dq_batches && P.dq_batches.length) {
      var q = 0, rec = 0; P.dq_batches.forEach(function (r) { q += r.quarantined_count; rec += r.record_count; });
      kpi('Quarantined', pct(rec ? q / rec : null, 2), fmt(q) + ' of ' + fmt(rec) + ' records in ' + P.dq_batches.length + ' batches (all APIs)', q / rec > 0.05 ? 'warn' : null);
    } else kpi('Quarantined', 'n/a', P.missing.dq_batches || 'no batches');
    kpi('Period covered', isDefault() ? (O.days_covered || 0).toFixed(1) + ' days' : periodText(),
      isDefault() ? String(O.first_called_at).slice(0, 16) + ' to ' + String(O.last_called_at).slice(0, 16) + ' UTC' : 'filtered; data ' + DAYS[0] + ' to ' + DAYS[DAYS.length - 1]);
  }
  function renderTables() {
    Object.keys(tableBoxes).forEach(function (name) {
      var box = tableBoxes[name];
      box.textContent = '';
      TABLES[name](box);
    });
  }
  var TABLES = {};
  function metricValue(metric, v) {
    if (v === null || v === undefined) return '';
    return /latency|_ms$/.test(String(metric)) ? ms(v) : pct(v);
  }
  function rowInScope(r) {
    if (state.scope === 'all' || !r.api_name) return true;
    return keyInScope(KEY[r.api_name] || { key: r.api_name, family: r.api_family || '' }, state.scope);
  }
  function excessText(r) {
    var parts = [];
    if (r.excess_failures) parts.push(fmt(Math.round(r.excess_failures)) + ' failed');
    if (r.excess_slow_calls) parts.push(fmt(Math.round(r.excess_slow_calls)) + ' slow');
    return parts.join('\n');
  }
  TABLES.root_cause = function (box) {
    if (!P.findings) { var c = el('div', 'card wide'); noteCard(c, 'Ranked findings', P.missing.findings || 'rca_findings not built'); box.appendChild(c); return; }
    var rows = P.findings.filter(rowInScope);
    var top = rows[0];
    var title = top ? 'Fix first: ' + top.segment + ' (' + (top.owner_team || 'no owner') + ')' : 'No significant finding for ' + scopeText(state.scope);
    tableCard(box, title, 'rca_findings, ranked by tier (new problems, chronic hotspots, API-wide health), then by impact (excess failed and slow calls); ' + rows.length + ' finding(s) for ' + scopeText(state.scope) +
      ', whole period; platform-wide findings always shown', [
      ['finding_rank', '#', 'num'], [function (r) { return [r.finding_tier, r.finding_type].filter(function (v) { return v; }).join('\n'); }, 'Tier, type', 'pre'], [function (r) { return String(r.segment || '').replace(/, /g, '\n'); }, 'Segment', 'pre'],
      ['owner_team', 'Owner'],
      [function (r) { return metricValue(r.metric, r.segment_value) + ' vs ' + metricValue(r.metric, r.baseline_value) + '\n' + (r.metric || ''); }, 'Segment vs baseline', 'pre'],
      [function (r) { return r.lift === null || r.lift === undefined ? '' : Number(r.lift).toFixed(2) + 'x'; }, 'Lift'],
      ['calls', 'Calls', 'num'], [excessText, 'Excess calls', 'num'],
      ['clients_affected', 'Clients', 'num'],
      ['evidence', 'Evidence', 'long'], ['recommendation', 'Recommendation', 'long']
    ], rows, true);
  };
  TABLES.failures = function (box) {
    if (!P.incidents) { var c = el('div', 'card wide'); noteCard(c, 'Incidents', P.missing.incidents || 'rca_incidents not built'); box.appendChild(c); return; }
    var rows = P.incidents.filter(rowInScope).filter(function (r) { return !r.ended_at || (String(r.ended_at).slice(0, 10) >= state.from && String(r.started_at).slice(0, 10) <= state.to); });
    tableCard(box, rows.length ? rows.length + (rows.length === 1 ? ' incident' : ' incidents') + ': hours when an API failed far above its own baseline' : 'No incident for ' + scopeText(state.scope) + ', ' + periodText(),
      'rca_incidents (failure-rate anomalies per API and hour); ' + scopeText(state.scope) + ', ' + periodText(), [
      ['api_name', 'API'], ['owner_team', 'Owner'], ['started_at', 'Started (UTC)'], ['ended_at', 'Ended (UTC)'],
      ['dominant_error_reason', 'Main reason'], ['calls', 'Calls', 'num'], ['failures', 'Failures', 'num'],
      [function (r) { return pct(r.failure_rate); }, 'Failure rate'], [function (r) { return pct(r.baseline_failure_rate); }, 'Baseline'],
      [function (r) { return r.excess_failures === null || r.excess_failures === undefined ? '' : fmt(Math.round(r.excess_failures)); }, 'Excess failures', 'num'],
      ['clients_affected', 'Clients', 'num']
    ], rows, true);
  };
  TABLES.data_quality = function (box) {
    if (P.dq_drift) tableCard(box, P.dq_drift.length ? 'Schema drift: ' + P.dq_drift.length + ' change(s) between the contract and what batches delivered' : 'No schema drift: every batch matched the contract',
      'dq_schema_drift, in load order', [['batch_id', 'Batch'], ['change_type', 'Change'], ['column_name', 'Column as delivered'],
        ['contract_column', 'Contract column'], ['sniffed_type', 'Sniffed type'], ['expected_type', 'Expected type'], ['severity', 'Severity'], ['loaded_at', 'Loaded at']], P.dq_drift, true);
    else { var c = el('div', 'card'); noteCard(c, 'Schema drift', P.missing.dq_drift); box.appendChild(c); }
    if (P.dq_values) tableCard(box, P.dq_values.length ? 'Which labels did senders use that we do not know?' : 'Every delivered label was known',
      'Values as delivered (PII masked) in refused api_name, version, region, client type, document type, status and error reason; commonest first (dq_quarantine)',
      [['column_name', 'Column'], ['reason', 'Reason'], ['value_raw', 'Value as delivered', 'long'], ['records', 'Records', 'num']], P.dq_values, false);
    else { c = el('div', 'card'); noteCard(c, 'Refused values', P.missing.dq_values); box.appendChild(c); }
  };

  function buildFilters() {
    var sel = document.getElementById('f-scope');
    var all = el('option', null, 'All APIs'); all.value = 'all'; sel.appendChild(all);
    var fam = el('optgroup'); fam.label = 'API family';
    (P.families || []).forEach(function (f) { var o = el('option', null, f + ' family'); o.value = 'family:' + f; fam.appendChild(o); });
    sel.appendChild(fam);
    var api = el('optgroup'); api.label = 'API (busiest, and busiest per family)';
    KEYS.filter(function (k) { return k.is_api; }).forEach(function (k) { var o = el('option', null, k.key); o.value = 'api:' + k.key; api.appendChild(o); });
    sel.appendChild(api);
    var from = document.getElementById('f-from'), to = document.getElementById('f-to');
    [from, to].forEach(function (inp) { if (DAYS.length) { inp.min = DAYS[0]; inp.max = DAYS[DAYS.length - 1]; } });
    function sync() { sel.value = state.scope; from.value = state.from || ''; to.value = state.to || ''; }
    function apply() {
      state.scope = sel.value;
      state.from = from.value || DAYS[0]; state.to = to.value || DAYS[DAYS.length - 1];
      if (state.from > state.to) { var t = state.from; state.from = state.to; state.to = t; }
      sync();
      document.getElementById('f-status').textContent = isDefault() ? '' : 'showing ' + scopeText(state.scope) + ', ' + periodText();
      drawAll();
    }
    sel.addEventListener('change', apply); from.addEventListener('change', apply); to.addEventListener('change', apply);
    document.getElementById('f-reset').addEventListener('click', function () {
      state.scope = 'all'; state.from = DAYS[0] || null; state.to = DAYS[DAYS.length - 1] || null; latencyRegion = null; sync(); apply();
    });
    sync();
  }

  function buildPage() {
    var main = document.getElementById('main'), nav = document.getElementById('nav');
    var O = P.overview;
    document.getElementById('subtitle').textContent = 'Built ' + P.meta.generated_at + ' from ' + P.meta.warehouse +
      (O ? ' \u00b7 ' + fmt(O.calls) + ' calls, ' + String(O.first_called_at).slice(0, 10) + ' to ' + String(O.last_called_at).slice(0, 10) : '');
    document.getElementById('footer').textContent = 'Marts only, no rows: ' + (CHARTS.length) + ' charts. Filters redraw the charts that have an API or date dimension; each subtitle says what it covers.';
    SECTIONS.forEach(function (s) {
      var a = el('a', null, s[1]); a.href = '#section-' + s[0]; nav.appendChild(a);
      var sec = el('section'); sec.id = 'section-' + s[0];
      sec.appendChild(el('h2', null, s[1]));
      main.appendChild(sec);
      if (s[0] === 'overview') { kpiBox = el('div', 'kpis'); kpiBox.id = 'kpis'; sec.appendChild(kpiBox); }
      var grid = el('div', 'grid'); sec.appendChild(grid);
      CHARTS.filter(function (c) { return c.section === s[0]; }).forEach(function (c) {
        var card = el('div', 'card' + (c.wide ? ' wide' : '')); card.id = 'card-' + c.id;
        if (FIGS[c.id]) {
          if (c.id === 'latency_over_time') card.appendChild(regionTool());
          var div = el('div', 'chart'); div.id = 'chart-' + c.id; div.setAttribute('data-png', c.png);
          card.appendChild(div); divs[c.id] = div; status.charts += 1;
        } else noteCard(card, c.id.replace(/_/g, ' '), NOTES[c.id] || 'not built');
        grid.appendChild(card);
      });
      if (TABLES[s[0]]) { tableBoxes[s[0]] = grid; }
    });
  }
  function regionTool() {
    var tools = el('div', 'card-tools'), lab = el('label', null, 'Region for this chart '), sel = el('select');
    var auto = el('option', null, 'busiest for the API'); auto.value = ''; sel.appendChild(auto);
    REGIONS.forEach(function (r) { var o = el('option', null, r); o.value = r; sel.appendChild(o); });
    sel.addEventListener('change', function () { latencyRegion = sel.value || null; draw('latency_over_time'); });
    lab.appendChild(sel); tools.appendChild(lab);
    return tools;
  }

  try {
    buildPage();
    buildFilters();
    // tables live in section grids after the charts
    Object.keys(tableBoxes).forEach(function (name) {
      var holder = el('div'); holder.style.display = 'contents'; tableBoxes[name].appendChild(holder); tableBoxes[name] = holder;
    });
    drawAll().then(function () {
      status.drawn = document.querySelectorAll('.js-plotly-plot').length;
      status.ready = true;
    });
  } catch (err) {
    status.errors.push(String(err));
    console.error('dashboard: ' + err);
    status.ready = true;
  }
  window.__dashboardState = state;
  window.__dashboardBuild = function (id, scope, from, to) {
    var saved = { scope: state.scope, from: state.from, to: state.to };
    state.scope = scope; state.from = from || DAYS[0]; state.to = to || DAYS[DAYS.length - 1];
    try { return BUILD[id] ? BUILD[id](clone(FIGS[id])) : null; } finally { state.scope = saved.scope; state.from = saved.from; state.to = saved.to; }
  };
})();
"""
