// The /ui page's drawing: the waterfall of calls (SVG), its axis, legend, summary and the detail of
// one call. Loaded before waterfall.js, whose state (`page`) and helpers it shares as classic
// scripts do; nothing else is global.
'use strict';

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
      // The outcome as text beside a failed call's bar: colour is never the only sign of it.
      if (kind !== 'ok') {
        const room = x(endOf(call)) + 8 * kind.length + 8 <= width;  // beside the bar, or inside its end
        svg('text', {
          x: room ? x(endOf(call)) + 4 : x(endOf(call)) - 4, y: top + LAYOUT.bar - 3,
          class: room ? 'bar-kind' : 'bar-kind inside', 'aria-hidden': 'true',
        }, group).textContent = kind;
      }
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
  renderHeadline(page.lanes.async, page.lanes.sync);
}

/// What happened first: how many calls failed, and a speed-up only when every call succeeded (a
/// ratio over calls that failed at once says how fast they failed, not how fast the service is).
function renderHeadline(a, s) {
  const headline = $('speedup');
  headline.hidden = !(a.elapsedMs && s.elapsedMs);
  if (headline.hidden) return;
  const at = laneTotals(a), st = laneTotals(s);
  const times = `async took ${formatMs(a.elapsedMs)}, the sync baseline ${formatMs(s.elapsedMs)}`;
  headline.dataset.failed = String(at.failed + st.failed);
  if (at.failed + st.failed === 0) {
    const ratio = s.elapsedMs / a.elapsedMs;
    headline.textContent = `Speed-up: ${ratio.toFixed(1)}× — ${times} for the same ${s.calls.length} calls.`;
    headline.dataset.ratio = ratio.toFixed(3);
    headline.dataset.outcome = 'ok';
    return;
  }
  delete headline.dataset.ratio;
  const failedIn = (t, mode) => `${t.failed} of ${t.calls} calls failed in ${mode}`;
  headline.textContent = `${failedIn(at, 'async')}, ${failedIn(st, 'the sync baseline')}: no speed-up is ` +
    `claimed over failed calls — ${times}. The bars say how each call ended.`;
  headline.dataset.outcome = 'failures';
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
