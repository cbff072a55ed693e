// The /ui page in a real browser (Debian's headless chromium over the DevTools protocol, or Firefox
// ESR over WebDriver BiDi: --browser chromium|firefox):
// against the bundled upstream it runs num=5 calls of 300 ms and checks that the five async bars
// overlap and last about 300 ms while the sync bars follow one another (about 1.5 s in all), that
// bars appear as their calls arrive, that a failed call shows its error kind, that chained entries
// show what they waited for, that a saved response opens, that the bars are reachable with the
// keyboard, and that the console stays clean; then it loads the page over HTTPS (server.tls, a
// certificate of the tests' own CA) and runs it there. Saves screenshots in --artifacts.
//
//   node --experimental-websocket tests/browser/waterfall_test.mjs --browser chromium \
//        --aggregator build/aggregator/aggregator --upstream build/upstream/upstream --artifacts build/tests/artifacts
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchBrowser } from './browser_page.mjs';

const { values: args } = parseArgs({
  options: { browser: { type: 'string', default: 'chromium' }, aggregator: { type: 'string' },
             upstream: { type: 'string' }, artifacts: { type: 'string' } },
});
for (const name of ['aggregator', 'upstream', 'artifacts'])
  if (!args[name]) throw new Error(`--${name} is required`);

const children = [];
const scratch = mkdtempSync(join(tmpdir(), 'agg-ui-test-'));
let failures = 0;

function check(condition, what, details = undefined) {
  console.log(`${condition ? 'ok  ' : 'FAIL'} ${what}${!condition && details !== undefined ? ': ' + JSON.stringify(details) : ''}`);
  if (!condition) failures++;
}

/// Starts a program and resolves with the port of its first "listening on http://host:port" line.
function startListening(program, programArgs) {
  const child = spawn(program, programArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (d) => {
      output += d;
      const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(output);
      if (m) resolve(Number(m[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => { output += d; });
    child.on('exit', (code) => reject(new Error(`${program} exited (${code}) before listening:\n${output}`)));
  });
}

function getText(url) {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

const bars = (lane) => `[...document.querySelectorAll('rect.bar[data-lane=${lane}]')].map((b) => ({
  index: +b.dataset.index, kind: b.dataset.kind, start: +b.dataset.startMs, duration: +b.dataset.durationMs,
  x: +b.getAttribute('x'), width: +b.getAttribute('width') }))`;

// From now on, window.asyncCounts gets the number of async bars at every change of the chart.
async function countAsyncBars(page) {
  await page.evaluate(`(() => {
    window.asyncCounts = [];
    new MutationObserver(() => window.asyncCounts.push(document.querySelectorAll('rect.bar[data-lane=async]').length))
      .observe(document.getElementById('waterfall'), { childList: true });
  })()`);
}

async function runRoute(page, route, fields = {}) {
  await page.evaluate(`(() => {
    const select = document.getElementById('route');
    select.value = ${JSON.stringify(route)};
    select.dispatchEvent(new Event('change'));
    const fields = ${JSON.stringify(fields)};
    for (const [name, value] of Object.entries(fields)) {
      const input = name === 'num' ? document.getElementById('num') : document.querySelector('input[data-param="' + name + '"]');
      input.value = value;
    }
    document.body.dataset.state = 'starting';
    document.getElementById('token').focus();
  })()`);
  await page.key('Enter');  // from the keyboard: Enter in a field of the form runs it
  await page.waitFor(`document.body.dataset.state === 'done' || document.body.dataset.state === 'error'`);
  return page.evaluate(`document.body.dataset.state`);
}

async function main() {
  mkdirSync(args.artifacts, { recursive: true });
  const upstreamPort = await startListening(args.upstream, ['--listen', '127.0.0.1:0']);
  const up = `http://127.0.0.1:${upstreamPort}`;
  const config = {
    routes: [
      { name: 'demo', path: '/api/demo', params: { delay_ms: { default: '1000' } },
        num: { default: 10, max: 50 },
        upstreams: [{ url: `${up}/api/?task_id={i}&delay_ms={delay_ms}`, repeat: true }] },
      { name: 'faulty', path: '/api/faulty', params: { zone: { default: 'z' }, area: { default: 'a' } },
        upstreams: [{ url: `${up}/api/?delay_ms=50&zone={zone}&area={area}` }, { url: `${up}/api/?status=500&delay_ms=80` }] },
      { name: 'staggered', path: '/api/staggered', num: { default: 5, max: 9 },
        upstreams: [{ url: `${up}/api/?task_id={i}&delay_ms={i}50`, repeat: true }] },
      { name: 'bff', path: '/api/bff', params: { user: { default: '7' } },
        upstreams: [
          { name: 'user', url: `${up}/users/{user}?orders=3&delay_ms=60` },
          { name: 'orders', for_each: 'user.body#/order_ids/*', url: `${up}/orders/{item}?delay_ms=60` }] },
    ],
  };
  const configFile = join(scratch, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const port = await startListening(args.aggregator,
    ['--config', configFile, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
  const origin = `http://127.0.0.1:${port}`;

  const browser = await launchBrowser(args.browser);
  const shot = async (page, name) => writeFileSync(join(args.artifacts, `waterfall-${name}-${args.browser}.png`), await page.screenshot());
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/ui`);
    await page.waitFor(`document.body.dataset.state === 'idle'`);
    const routes = await page.evaluate(`[...document.getElementById('route').options].map((o) => o.value)`);
    check(JSON.stringify(routes) === JSON.stringify(['demo', 'faulty', 'staggered', 'bff']), 'the page lists the routes', routes);

    // num=5 of 300 ms: async overlaps, sync follows on.
    check(await runRoute(page, 'demo', { num: 5, delay_ms: 300 }) === 'done', 'demo: both runs finish');
    const async = await page.evaluate(bars('async'));
    const sync = (await page.evaluate(bars('sync'))).sort((a, b) => a.index - b.index);
    check(async.length === 5 && async.every((b) => b.kind === 'ok'), 'demo: five async bars, all ok', async);
    check(async.every((b) => b.duration >= 295 && b.duration < 800), 'demo: each async bar lasts about 300 ms', async);
    const latestStart = Math.max(...async.map((b) => b.start));
    const earliestEnd = Math.min(...async.map((b) => b.start + b.duration));
    check(latestStart < earliestEnd, 'demo: the async bars overlap in time', async);
    check(Math.max(...async.map((b) => b.x)) < Math.min(...async.map((b) => b.x + b.width)), 'demo: and on the screen', async);
    check(sync.length === 5 && sync.every((b) => b.kind === 'ok'), 'demo: five sync bars, all ok', sync);
    check(sync.every((b, i) => i === 0 || b.start >= sync[i - 1].start + sync[i - 1].duration - 0.5),
      'demo: each sync bar starts after the one before it ends', sync);
    check(sync.every((b, i) => i === 0 || b.x >= sync[i - 1].x + sync[i - 1].width - 1), 'demo: and on the screen', sync);
    const syncSpan = sync.length ? sync[4].start + sync[4].duration - sync[0].start : 0;
    check(syncSpan >= 1490 && syncSpan < 3000, 'demo: the sync calls take about 1.5 s in all', syncSpan);
    const ratio = Number(await page.evaluate(`document.getElementById('speedup').dataset.ratio`));
    check(ratio > 3, 'demo: the speed-up is written beside them', ratio);
    const summaryRows = await page.evaluate(`[...document.querySelectorAll('#summary tbody tr')].map((r) => r.textContent)`);
    check(summaryRows.length === 2, 'demo: elapsed and the sum of upstream times for both runs', summaryRows);

    // The keyboard reaches the bars, and a focused bar shows its call.
    await page.evaluate(`document.getElementById('open-file').focus()`);
    await page.key('Tab');
    const focused = await page.evaluate(`(() => { const e = document.activeElement;
      return { tag: e.tagName, lane: e.dataset.lane, index: e.dataset.index, detail: document.getElementById('detail').textContent }; })()`);
    check(focused.tag === 'rect' && focused.lane === 'async', 'Tab from the form reaches the first bar', focused);
    // A headless Firefox window never has the focus, so it fires no focus events (chromium's
    // focus emulation gives it one): there the details are checked through the pointer only.
    if (await page.evaluate(`document.hasFocus()`)) {
      check(/task_id=\d/.test(focused.detail) && /status200/.test(focused.detail) && /bytes\d+/.test(focused.detail) &&
        /takes3\d\d/.test(focused.detail), 'a focused bar shows URL, status, bytes and timings', focused.detail);
    } else {
      console.log('skip a focused bar shows its call: this headless browser window has no focus, so no focus events');
    }
    // The pointer over a sync bar shows that call instead.
    await page.hover('rect.bar[data-lane=sync][data-index="2"]');
    const hovered = await page.evaluate(`(() => { const d = document.getElementById('detail'); return { lane: d.dataset.lane, index: d.dataset.index, text: d.textContent }; })()`);
    check(hovered.lane === 'sync' && hovered.index === '2' && /task_id=2/.test(hovered.text), 'the pointer over a bar shows its call', hovered);
    await page.evaluate(`window.scrollTo(0, 0)`);
    await shot(page, 'demo');

    // Bars appear as calls arrive: record the async bar count at every change of the chart.
    await countAsyncBars(page);
    check(await runRoute(page, 'staggered', { num: 5 }) === 'done', 'staggered: both runs finish');
    const counts = await page.evaluate(`window.asyncCounts`);
    const partial = new Set(counts.filter((c) => c > 0 && c < 5));
    // Counts between none and all: bars came one by one (a renderer starved by a busy machine may merge a few).
    check(partial.size >= 2, 'staggered: async bars are drawn one by one as their calls arrive', counts);
    const arrived = await page.evaluate(`[...document.querySelectorAll('rect.bar[data-lane=async]')].map((b) => +b.dataset.arrivedMs)`);
    check(arrived.length === 5 && arrived[0] + 100 < arrived[4], 'staggered: the first bar was there long before the last', arrived);

    // A failed call shows its error kind.
    check(await runRoute(page, 'faulty') === 'done', 'faulty: both runs finish');
    const faulty = await page.evaluate(bars('async'));
    check(faulty.some((b) => b.kind === 'http_status') && faulty.some((b) => b.kind === 'ok'), 'faulty: one ok bar, one http_status bar', faulty);
    await page.hover('rect.bar[data-lane=async][data-kind=http_status]');
    const failedView = await page.evaluate(`(() => {
      const bar = document.querySelector('rect.bar[data-lane=async][data-kind=http_status]');
      return { labels: [...document.querySelectorAll('.row-label.failed')].map((t) => t.textContent),
               detail: document.getElementById('detail').textContent,
               legend: document.getElementById('legend').textContent,
               fill: getComputedStyle(bar).fill, okFill: getComputedStyle(document.querySelector('rect.bar[data-kind=ok]')).fill };
    })()`);
    check(failedView.labels.some((l) => l.includes('http_status')), 'faulty: the failed row is labelled with its kind', failedView.labels);
    check(/http_status: /.test(failedView.detail) && /status500/.test(failedView.detail), 'faulty: its details say why', failedView.detail);
    check(failedView.legend.includes('http_status') && failedView.fill !== failedView.okFill, 'faulty: coloured by outcome, with a legend', failedView);
    const told = await page.evaluate(`(() => {
      const headline = document.getElementById('speedup');
      const style = getComputedStyle(document.documentElement);
      const kinds = ['ok', 'timeout', 'http_status', 'connect', 'tls', 'invalid_json', 'too_large', 'cancelled',
                     'transport', 'circuit_open'];
      return { headline: headline.textContent, ratio: headline.dataset.ratio, failed: headline.dataset.failed,
               colours: kinds.map((k) => style.getPropertyValue('--' + k).trim()),
               onBars: [...document.querySelectorAll('g[data-lane=async] text.bar-kind')].map((t) => t.textContent),
               params: [...document.querySelectorAll('#params input')].map((i) => i.dataset.param) };
    })()`);
    check(/^1 of 2 calls failed in async, 1 of 2 calls failed in the sync baseline/.test(told.headline) &&
      told.ratio === undefined && !/Speed-up/.test(told.headline),
      'faulty: the headline says how many calls failed, and claims no speed-up over them', told);
    check(new Set(told.colours).size === told.colours.length && told.colours.every((c) => c !== ''),
      'every outcome has a colour of its own', told.colours);
    check(JSON.stringify(told.onBars) === '["http_status"]', 'faulty: the failed bar says its kind in text, not colour alone', told.onBars);
    check(JSON.stringify(told.params) === '["zone","area"]', 'faulty: the parameter boxes are in the route\'s order', told.params);
    await shot(page, 'faulty');

    // Chained entries: the orders waited for the user.
    check(await runRoute(page, 'bff') === 'done', 'bff: both runs finish');
    const fresh = await page.evaluate(`(() => { const d = document.getElementById('detail');
      return { lane: d.dataset.lane || null, text: d.textContent.trim() }; })()`);
    // Either the hint, or (a browser that fires mouseover on a bar drawn under a still pointer) a bff call.
    check(!/status=500/.test(fresh.text) && (fresh.lane === null ? /^Hover over a bar/.test(fresh.text) : /\/(users|orders)\//.test(fresh.text)),
      'a new run forgets the details of the run before', fresh);
    await page.hover('rect.bar[data-lane=async][data-index="1"]');
    const chained = await page.evaluate(`(() => {
      return { waits: document.querySelectorAll('g[data-lane=async] path.wait').length,
               bars: document.querySelectorAll('rect.bar[data-lane=async]').length,
               detail: document.getElementById('detail').textContent };
    })()`);
    check(chained.bars === 4 && chained.waits === 3, 'bff: each order call is drawn joined to the user call it waited for', chained);
    check(/waited foruser/.test(chained.detail), 'bff: its details name the entry it waited for', chained.detail);
    await shot(page, 'chained');

    // A saved response opens and is drawn the same way.
    const saved = join(scratch, 'saved-sync.json');
    writeFileSync(saved, await getText(`${origin}/api/demo_sync?num=3&delay_ms=20`));
    await page.evaluate(`document.body.dataset.state = 'opening'`);
    await page.setFiles('#open-file', saved);
    await page.waitFor(`document.body.dataset.state === 'done' && document.querySelectorAll('rect.bar').length === 3`);
    const opened = (await page.evaluate(bars('sync'))).sort((a, b) => a.index - b.index);
    check(opened.length === 3 && opened.every((b, i) => i === 0 || b.start >= opened[i - 1].start + opened[i - 1].duration - 0.5),
      'a saved sync response is drawn in the sync lane, one call after another', opened);

    // A JSON file that is no saved response says why nothing is drawn.
    const junk = join(scratch, 'junk.json');
    writeFileSync(junk, '{"name": "not a response", "items": [1, 2]}');
    await page.evaluate(`document.body.dataset.state = 'opening'`);
    await page.setFiles('#open-file', junk);
    await page.waitFor(`document.body.dataset.state === 'error' && !document.querySelector('rect.bar')`);
    const refusedFile = await page.evaluate(`({ status: document.getElementById('status').textContent,
                                                bars: document.querySelectorAll('rect.bar').length })`);
    check(/junk\.json is JSON but not a saved response: it has no "upstreams" list/.test(refusedFile.status) &&
      refusedFile.bars === 0, 'a JSON file that is no saved response is refused, saying why', refusedFile);

    check(page.problems.length === 0, 'the console has no errors or warnings', page.problems);
    const outside = page.requested.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('data:'));
    check(outside.length === 0, 'the page fetches nothing from anywhere else', outside);

    // The same page over HTTPS: TLS on the data plane (server.tls).
    const certs = join(scratch, 'certs');
    execFileSync(new URL('../support/make_test_certs.sh', import.meta.url).pathname, [certs]);
    const tlsConfig = join(scratch, 'tls-config.json');
    writeFileSync(tlsConfig, JSON.stringify({
      ...config, server: { tls: { cert_file: join(certs, 'server.pem'), key_file: join(certs, 'server.key') } } }));
    const tlsPort = await startListening(args.aggregator,
      ['--config', tlsConfig, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    const secure = await browser.newPage();
    await secure.goto(`https://127.0.0.1:${tlsPort}/ui`);
    await secure.waitFor(`document.body.dataset.state === 'idle'`);
    check(await runRoute(secure, 'demo', { num: 3, delay_ms: 100 }) === 'done', 'over HTTPS: the demo runs');
    const overTls = await secure.evaluate(`({ protocol: location.protocol,
      hop: performance.getEntriesByType('navigation')[0]?.nextHopProtocol,
      bars: document.querySelectorAll('rect.bar[data-lane=async]').length })`);
    check(overTls.protocol === 'https:' && overTls.bars === 3, 'over HTTPS: the page draws the three calls', overTls);
    check(overTls.hop === 'h2', 'over HTTPS: HTTP/2 (ALPN h2)', overTls);
    // Over HTTPS + h2 a stream still draws its bars one by one, compressed (the browser asks for it).
    await countAsyncBars(secure);
    check(await runRoute(secure, 'staggered', { num: 5 }) === 'done', 'over HTTPS + h2: staggered finishes');
    const h2Counts = await secure.evaluate(`window.asyncCounts`);
    check(new Set(h2Counts.filter((c) => c > 0 && c < 5)).size >= 2,
      'over HTTPS + h2: async bars are drawn one by one as their calls arrive', h2Counts);
    const streamed = await secure.evaluate(`performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/staggered/stream'))
      .map((e) => ({ hop: e.nextHopProtocol, encoded: e.encodedBodySize, decoded: e.decodedBodySize }))`);
    check(streamed.length > 0 && streamed.every((e) => e.hop === 'h2' && e.encoded > 0 && e.encoded < e.decoded),
      'over HTTPS + h2: the stream came compressed over HTTP/2', streamed);
    await shot(secure, 'https');
    check(secure.problems.length === 0, 'over HTTPS: the console has no errors or warnings', secure.problems);
  } finally {
    await browser.close();
  }
}

try {
  await main();
} catch (e) {
  console.log('FAIL ' + (e.stack || e));
  failures++;
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(scratch, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
