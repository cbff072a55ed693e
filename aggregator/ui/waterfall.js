// The /ui page: runs a route's async path through its streaming endpoint (SSE) and draws a bar per
// upstream call as it arrives, then runs the sync baseline and draws its calls on the same time axis.
// Plain browser JavaScript, no dependencies: it is compiled into the aggregator and served as it is.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';
const LANES = ['async', 'sync'];
const LAYOUT = { label: 230, right: 24, axis: 28, laneHead: 30, row: 22, bar: 14, gap: 14 };

const page = {
  routes: [],   // GET /'s route descriptions
  lanes: {},    // mode -> lane
  running: false,
  renderQueued: false,
  focused: null,    // "lane:index" of the bar whose details show, so a redraw keeps them
  bars: new Map(),  // "lane:index" -> { lane, call } of every bar drawn
};

function newLane(mode) {
  return { mode, route: null, calls: [], elapsedMs: null, summary: null, error: null, source: null };
}

function resetLanes() {
  for (const mode of LANES) page.lanes[mode] = newLane(mode);
  page.focused = null;
}

const $ = (id) => document.getElementById(id);

function setStatus(text, state) {
  $('status').textContent = text;
  if (state) document.body.dataset.state = state;
}

function requestHeaders(accept, withBody) {
  const headers = { Accept: accept };
  const token = $('token').value.trim();
  if (token) headers.Authorization = 'Bearer ' + token;
  if (withBody) headers['Content-Type'] = 'application/json';
  return headers;
}

/// The error document of a refused request, as one line.
async function refusalText(response) {
  const text = await response.text();
  try {
    const error = JSON.parse(text).error;
    if (error && error.message) return `HTTP ${response.status} ${error.code}: ${error.message}`;
  } catch (_) { /* not JSON: shown as it came */ }
  return `HTTP ${response.status}: ${text.slice(0, 200)}`;
}

// ---- routes and the form ----------------------------------------------------------------------

async function loadRoutes() {
  let response;
  try {
    response = await fetch('/', { headers: requestHeaders('application/json', false) });
  } catch (e) {
    return setStatus('Could not reach the service: ' + e.message, 'error');
  }
  if (!response.ok) {
    const why = await refusalText(response);
    return setStatus(response.status === 401 || response.status === 403
      ? why + ' — enter a token in its field, then leave the field.' : why, 'error');
  }
  page.routes = (await response.json()).routes || [];
  const select = $('route');
  const previous = select.value;
  select.replaceChildren(...page.routes.map((r) => new Option(`${r.name} — ${r.method} ${r.path}`, r.name)));
  if (page.routes.some((r) => r.name === previous)) select.value = previous;
  showRouteFields();
  setStatus(page.routes.length ? 'Pick a route and press Run.' : 'This service has no routes.', 'idle');
}

function selectedRoute() {
  return page.routes.find((r) => r.name === $('route').value) || null;
}

function routeNamed(name) {
  return page.routes.find((r) => r.name === name) || null;
}

function showRouteFields() {
  const route = selectedRoute();
  $('num-field').hidden = !(route && route.num);
  if (route && route.num) {
    $('num').max = route.num.max;
    $('num').value = route.num.default;
  }
  $('body-field').hidden = !(route && route.method === 'POST');
  const params = $('params');
  params.replaceChildren();
  for (const p of route ? route.params : []) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.name = p.name;
    input.dataset.param = p.name;
    input.maxLength = p.max_length;
    if (p.default !== undefined) input.value = p.default;
    if (p.required) input.required = true;
    label.append(p.name + ' ', input);
    params.append(label);
  }
}

function queryOf(route) {
  const query = new URLSearchParams();
  if (route.num) query.set('num', $('num').value);
  for (const input of $('params').querySelectorAll('input[data-param]'))
    if (input.value !== '') query.set(input.dataset.param, input.value);
  const text = query.toString();
  return text ? '?' + text : '';
}

// ---- running ----------------------------------------------------------------------------------

/// Reads Server-Sent Events from a fetch response, calling `onEvent(name, data)` for each one as it
/// arrives (fetch rather than EventSource: it can send the token and a body).
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}

async function runAsync(route, query, body) {
  const lane = page.lanes.async;
  lane.route = route.name;
  lane.source = route.stream_path + query;
  const started = performance.now();
  const response = await fetch(route.stream_path + query, {
    method: route.method, headers: requestHeaders('text/event-stream', body !== undefined), body,
  });
  if (!response.ok) {
    lane.error = await refusalText(response);
    return scheduleRender();
  }
  await readEvents(response, (name, data) => {
    if (name === 'upstream') {
      data.arrived_ms = performance.now() - started;
      lane.calls.push(data);
    } else if (name === 'summary') {
      lane.summary = data;
      lane.elapsedMs = data.elapsed_ms;
    }
    scheduleRender();
  });
}

async function runSync(route, query, body) {
  const lane = page.lanes.sync;
  lane.route = route.name;
  lane.source = route.sync_path + query;
  const response = await fetch(route.sync_path + query, {
    method: route.method, headers: requestHeaders('application/json', body !== undefined), body,
  });
  const text = await response.text();
  let document_;
  try {
    document_ = JSON.parse(text);
  } catch (_) {
    lane.error = `HTTP ${response.status}: the answer is not JSON`;
    return scheduleRender();
  }
  takeResponse(lane, document_, response.status);
}

/// Fills `lane` from an aggregation's response document (or says why it has no calls).
function takeResponse(lane, doc, status) {
  if (doc.route) lane.route = doc.route;
  if (Array.isArray(doc.upstreams)) {
    lane.calls = doc.upstreams;
    lane.elapsedMs = typeof doc.elapsed === 'number' ? doc.elapsed * 1000 : null;
    lane.summary = doc;
  }
  if (doc.error) lane.error = `HTTP ${status || '?'} ${doc.error.code}: ${doc.error.message}`;
  else if (!Array.isArray(doc.upstreams)) lane.error = 'this document has no upstreams to draw';
  scheduleRender();
}

async function run(event) {
  event.preventDefault();
  const route = selectedRoute();
  if (!route || page.running) return;
  if (!$('run-form').reportValidity()) return;
  let body;
  if (route.method === 'POST') {
    body = $('body').value;
    try {
      JSON.parse(body);
    } catch (e) {
      return setStatus('The request body is not JSON: ' + e.message, 'error');
    }
  }
  const query = queryOf(route);
  page.running = true;
  $('run').disabled = true;
  resetLanes();
  scheduleRender();
  try {
    setStatus(`async: ${route.method} ${route.stream_path}${query} …`, 'running-async');
    await runAsync(route, query, body);
    setStatus(`sync: ${route.method} ${route.sync_path}${query} …`, 'running-sync');
    await runSync(route, query, body);
    setStatus('Done: async above, the sync baseline below, on one time axis.', 'done');
  } catch (e) {
    setStatus('The run failed: ' + e.message, 'error');
  } finally {
    page.running = false;
    $('run').disabled = false;
    scheduleRender();
  }
}

// ---- saved responses --------------------------------------------------------------------------

/// A saved aggregation response (either mode), a job (its result), or a stream's NDJSON lines.
function openSaved(text, fileName) {
  resetLanes();
  let doc = null;
  try {
    doc = JSON.parse(text);
  } catch (_) { /* perhaps NDJSON */ }
  if (doc && typeof doc === 'object' && doc.result && typeof doc.result === 'object') doc = doc.result;
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    const lane = page.lanes[doc.mode === 'sync' ? 'sync' : 'async'];
    lane.source = fileName;
    takeResponse(lane, doc);
    return setStatus(`Opened ${fileName}.`, 'done');
  }
  const lane = page.lanes.async;
  lane.source = fileName;
  try {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const item = JSON.parse(line);
      if (item.summary) {
        lane.summary = item;
        lane.elapsedMs = item.elapsed_ms;
        if (item.route) lane.route = item.route;
      } else {
        lane.calls.push(item);
      }
    }
  } catch (e) {
    resetLanes();
    scheduleRender();
    return setStatus(`${fileName} is neither a response nor a stream's lines: ${e.message}`, 'error');
  }
  scheduleRender();
  setStatus(`Opened ${fileName}.`, 'done');
}

async function openFile() {
  const file = $('open-file').files[0];
  if (!file) return;
  openSaved(await file.text(), file.name);
  $('open-file').value = '';
}

// ---- drawing ----------------------------------------------------------------------------------

function scheduleRender() {
  if (page.renderQueued) return;
  page.renderQueued = true;
  requestAnimationFrame(() => {
    page.renderQueued = false;
    render();
  });
}

function svg(name, attributes, parent) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, String(value));
  if (parent) parent.append(element);
  return element;
}

function kindOf(call) {
  return call.error ? call.error.kind : 'ok';
}

function endOf(call) {
  return call.start_ms + call.duration_ms;
}

/// 1, 2 or 5 times a power of ten: about `count` ticks from 0 to `max`.
function tickStep(max, count) {
  const raw = max / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function formatMs(ms) {
  return ms >= 1000 ? (ms / 1000).toFixed(ms >= 10000 ? 1 : 2) + ' s' : ms.toFixed(ms >= 100 ? 0 : 1) + ' ms';
}

/// An axis tick: as short as it can be (0, 250 ms, 1.2 s).
function formatTick(ms) {
  return ms >= 1000 ? Number((ms / 1000).toFixed(3)) + ' s' : Number(ms.toFixed(3)) + ' ms';
}

function callLabel(call) {
  let label = '#' + call.index;
  if (call.name) label += ' ' + call.name;
  if (call.item !== undefined) label += ' [' + (typeof call.item === 'string' ? call.item : JSON.stringify(call.item)) + ']';
  if (call.error) label += ' ✕ ' + call.error.kind;
  return label.length > 34 ? label.slice(0, 33) + '…' : label;
}

/// The names of the entries the call's entry waited for, from its route's description.
function waitedFor(lane, call) {
  const route = routeNamed(lane.route);
  if (!route || !call.name) return [];
  const entry = route.entries.find((e) => e.name === call.name);
  return entry && entry.uses ? entry.uses : [];
}

function laneTotals(lane) {
  const failed = lane.calls.filter((c) => c.error).length;
  const sum = lane.calls.reduce((total, c) => total + c.duration_ms, 0);
  return { calls: lane.calls.length, failed, sum };
}

function render() {
  const chart = $('waterfall');
  const width = Math.max(640, chart.parentElement.clientWidth || 900);
  const plot = width - LAYOUT.label - LAYOUT.right;
  const lanes = LANES.map((m) => page.lanes[m]).filter((l) => l.calls.length || l.error || l.source);
  let axisMax = 0;
  for (const lane of lanes) {
    axisMax = Math.max(axisMax, lane.elapsedMs || 0);
    for (const c of lane.calls) axisMax = Math.max(axisMax, endOf(c));
  }
  axisMax = axisMax > 0 ? axisMax * 1.04 : 1000;
  const x = (ms) => LAYOUT.label + (ms / axisMax) * plot;
  let height = LAYOUT.axis;
  for (const lane of lanes) height += LAYOUT.laneHead + Math.max(1, lane.calls.length) * LAYOUT.row + LAYOUT.gap;
  chart.replaceChildren();
  page.bars.clear();
  chart.setAttribute('viewBox', `0 0 ${width} ${height}`);
  chart.setAttribute('width', width);
  chart.setAttribute('height', height);

  const step = tickStep(axisMax, 8);
  for (let i = 0; i * step <= axisMax; i++) {
    const t = i * step;
    svg('line', { x1: x(t), x2: x(t), y1: LAYOUT.axis - 6, y2: height, class: 'grid' }, chart);
    svg('text', { x: x(t), y: LAYOUT.axis - 10, class: 'tick' }, chart).textContent = formatTick(t);
  }

  let y = LAYOUT.axis;
  const kinds = new Set();
  for (const lane of lanes) {
    const totals = laneTotals(lane);
    const head = svg('text', { x: 8, y: y + 20, class: 'lane-head' }, chart);
    head.textContent = lane.error && !lane.calls.length
      ? `${lane.mode}: ${lane.error}`
      : `${lane.mode}${lane.elapsedMs !== null ? ' — ' + formatMs(lane.elapsedMs) : ' — running…'}` +
        ` · sum of upstream times ${formatMs(totals.sum)} · ${totals.calls} calls` +
        (totals.failed ? `, ${totals.failed} failed` : '') + (lane.source ? ` · ${lane.source}` : '');
    y += LAYOUT.laneHead;
    const rows = [...lane.calls].sort((a, b) => a.index - b.index);
    const rowOf = new Map(rows.map((c, i) => [c.index, y + i * LAYOUT.row]));
    const group = svg('g', { class: 'lane', 'data-lane': lane.mode, role: 'list', 'aria-label': lane.mode + ' calls' }, chart);
    for (const call of rows) {
      const top = rowOf.get(call.index);
      const kind = kindOf(call);
      kinds.add(kind);
      svg('text', { x: 8, y: top + LAYOUT.bar - 2, class: 'row-label' + (call.error ? ' failed' : '') }, group)
        .textContent = callLabel(call);
      // A line from what it waited for to its start (in the sync baseline every call waits for all before it).
      for (const used of lane.mode === 'async' ? waitedFor(lane, call) : []) {
        const before = rows.filter((c) => c.name === used);
        if (!before.length) continue;
        const last = before.reduce((a, b) => (endOf(b) > endOf(a) ? b : a));
        const fromY = rowOf.get(last.index) + LAYOUT.bar / 2;
        svg('path', { d: `M ${x(endOf(last))} ${fromY} V ${top + LAYOUT.bar / 2} H ${x(call.start_ms)}`, class: 'wait' }, group);
      }
      const bar = svg('rect', {
        x: x(call.start_ms), y: top, width: Math.max(2, x(endOf(call)) - x(call.start_ms)), height: LAYOUT.bar,
        rx: 2, class: `bar kind-${kind}`, tabindex: 0, role: 'listitem',
        'aria-label': `${lane.mode} ${callLabel(call)}: ${kind}, starts at ${formatMs(call.start_ms)}, takes ${formatMs(call.duration_ms)}`,
        'data-key': lane.mode + ':' + call.index, 'data-lane': lane.mode, 'data-index': call.index, 'data-kind': kind,
        'data-start-ms': call.start_ms, 'data-duration-ms': call.duration_ms,
      }, group);
      if (call.arrived_ms !== undefined) bar.dataset.arrivedMs = call.arrived_ms.toFixed(1);
      svg('title', {}, bar).textContent = `${call.url} — ${kind}`;
      const key = lane.mode + ':' + call.index;
      page.bars.set(key, { lane, call });
      if (page.focused === key) showDetail(lane, call, key);
    }
    if (lane.elapsedMs !== null) {
      const bottom = y + Math.max(1, rows.length) * LAYOUT.row;
      svg('line', { x1: x(lane.elapsedMs), x2: x(lane.elapsedMs), y1: y - 6, y2: bottom, class: 'elapsed' }, chart);
    }
    y += Math.max(1, rows.length) * LAYOUT.row + LAYOUT.gap;
  }
  renderLegend(kinds);
  renderSummary();
}

function renderLegend(kinds) {
  const legend = $('legend');
  legend.replaceChildren();
  for (const kind of kinds) {
    const item = document.createElement('span');
    item.className = 'legend-item';
    const swatch = document.createElement('span');
    swatch.className = `swatch kind-${kind}`;
    item.append(swatch, kind === 'ok' ? 'ok' : kind);
    legend.append(item);
  }
  if (kinds.size) legend.append(Object.assign(document.createElement('span'), {
    className: 'legend-item', textContent: 'lines: an entry starting after the entries it uses; vertical mark: the run\'s elapsed time',
  }));
}

function renderSummary() {
  const table = $('summary');
  const body = table.querySelector('tbody');
  body.replaceChildren();
  const done = LANES.map((m) => page.lanes[m]).filter((l) => l.calls.length);
  table.hidden = done.length === 0;
  for (const lane of done) {
    const t = laneTotals(lane);
    const row = body.insertRow();
    row.dataset.lane = lane.mode;
    for (const cell of [lane.mode, lane.elapsedMs !== null ? formatMs(lane.elapsedMs) : 'running…', formatMs(t.sum), t.calls, t.failed])
      row.insertCell().textContent = String(cell);
  }
  const a = page.lanes.async, s = page.lanes.sync;
  const speedup = $('speedup');
  speedup.hidden = !(a.elapsedMs && s.elapsedMs);
  if (!speedup.hidden) {
    const ratio = s.elapsedMs / a.elapsedMs;
    speedup.textContent = `Speed-up: ${ratio.toFixed(1)}× — async took ${formatMs(a.elapsedMs)}, ` +
      `the sync baseline ${formatMs(s.elapsedMs)} for the same ${s.calls.length} calls.`;
    speedup.dataset.ratio = ratio.toFixed(3);
  }
}

function showDetail(lane, call, key) {
  page.focused = key;
  const detail = $('detail');
  const list = document.createElement('dl');
  const add = (term, value) => {
    if (value === undefined || value === null || value === '') return;
    list.append(Object.assign(document.createElement('dt'), { textContent: term }),
      Object.assign(document.createElement('dd'), { textContent: String(value) }));
  };
  add('run', lane.mode);
  add('call', '#' + call.index + (call.name ? ' ' + call.name : ''));
  if (call.item !== undefined) add('item', typeof call.item === 'string' ? call.item : JSON.stringify(call.item));
  add('URL', (call.method ? call.method + ' ' : '') + call.url);
  add('status', call.status === null ? 'none (no response)' : call.status);
  add('outcome', call.error ? `${call.error.kind}: ${call.error.message}` : 'ok');
  add('bytes', call.bytes);
  add('starts at', formatMs(call.start_ms));
  add('takes', formatMs(call.duration_ms));
  if (call.queued_ms) add('queued', formatMs(call.queued_ms));
  if (call.attempts !== undefined) add('attempts', call.attempts);
  if (call.cache) add('cache', call.cache);
  if (call.coalesced) add('coalesced', 'yes');
  const waited = waitedFor(lane, call);
  if (waited.length) add('waited for', waited.join(', '));
  detail.replaceChildren(list);
  detail.dataset.index = call.index;
  detail.dataset.lane = lane.mode;
}

// ---- start ------------------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  resetLanes();
  $('route').addEventListener('change', showRouteFields);
  $('run-form').addEventListener('submit', run);
  $('open-file').addEventListener('change', () => openFile().catch((e) => setStatus('Could not open it: ' + e.message, 'error')));
  $('token').addEventListener('change', loadRoutes);
  window.addEventListener('resize', scheduleRender);
  // One listener for every bar, however many are drawn; on the figure, not the SVG: Chromium puts
  // an SVG element with focus listeners into the Tab order.
  for (const type of ['mouseover', 'focusin']) {
    $('chart').addEventListener(type, (event) => {
      const shown = page.bars.get(event.target.dataset ? event.target.dataset.key : undefined);
      if (shown) showDetail(shown.lane, shown.call, event.target.dataset.key);
    });
  }
  loadRoutes();
});
