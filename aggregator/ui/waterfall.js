// The /ui page: runs a route's async path through its streaming endpoint (SSE) and draws a bar per
// upstream call as it arrives, then runs the sync baseline and draws its calls on the same time axis.
// Plain browser JavaScript, no dependencies: it is compiled into the aggregator and served as it is.
// The drawing is in waterfall_draw.js.
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
  detailHint: null, // what the details say before a bar is chosen
  bars: new Map(),  // "lane:index" -> { lane, call } of every bar drawn
};

function newLane(mode) {
  return { mode, route: null, calls: [], elapsedMs: null, summary: null, error: null, source: null };
}

function resetLanes() {
  for (const mode of LANES) page.lanes[mode] = newLane(mode);
  page.focused = null;
  // The details of a call from the run before would pass for one of this run's: back to the hint.
  const detail = $('detail');
  page.detailHint ??= detail.firstElementChild;
  detail.replaceChildren(page.detailHint);
  delete detail.dataset.index;
  delete detail.dataset.lane;
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
  let outcome = ['Done: async above, the sync baseline below, on one time axis.', 'done'];
  try {
    setStatus(`async: ${route.method} ${route.stream_path}${query} …`, 'running-async');
    await runAsync(route, query, body);
    setStatus(`sync: ${route.method} ${route.sync_path}${query} …`, 'running-sync');
    await runSync(route, query, body);
  } catch (e) {
    outcome = ['The run failed: ' + e.message, 'error'];
  } finally {
    page.running = false;
    $('run').disabled = false;
    render();  // drawn before it says done: what "done" shows is final
    setStatus(...outcome);
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
  const kinds = 'an aggregated endpoint\'s response, a job\'s GET or a stream\'s lines, saved with curl -o';
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    if (!Array.isArray(doc.upstreams)) {
      scheduleRender();
      const has = Object.keys(doc).slice(0, 5).join(', ');
      return setStatus(`${fileName} is JSON but not a saved response: it has no "upstreams" list to draw ` +
        `(its keys: ${has || 'none'}). Open ${kinds}.`, 'error');
    }
    const lane = page.lanes[doc.mode === 'sync' ? 'sync' : 'async'];
    lane.source = fileName;
    takeResponse(lane, doc);
    return setStatus(`Opened ${fileName}: ${doc.upstreams.length} calls.`, 'done');
  }
  const lane = page.lanes.async;
  lane.source = fileName;
  try {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const item = JSON.parse(line);
      if (!item || typeof item !== 'object' || (!item.summary && typeof item.index !== 'number'))
        throw new Error(`the line "${line.slice(0, 60)}" is no call and no summary`);
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
    return setStatus(`${fileName} is neither a response nor a stream's lines: ${e.message}. Open ${kinds}.`, 'error');
  }
  scheduleRender();
  if (!lane.calls.length) {
    resetLanes();
    return setStatus(`${fileName} holds no calls to draw. Open ${kinds}.`, 'error');
  }
  setStatus(`Opened ${fileName}: ${lane.calls.length} calls.`, 'done');
}

async function openFile() {
  const file = $('open-file').files[0];
  if (!file) return;
  openSaved(await file.text(), file.name);
  $('open-file').value = '';
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
