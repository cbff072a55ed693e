// Firefox ESR driven over WebDriver BiDi (the W3C protocol Firefox speaks on
// --remote-debugging-port): JSON commands and events on one WebSocket. Node's own WebSocket
// (Node 20: --experimental-websocket), no npm package.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserPage } from './browser_page.mjs';

const KEYS = { Enter: '\uE007', Tab: '\uE004' };  // WebDriver's key codes

export class Firefox {
  static async launch({ executable = process.env.AGG_FIREFOX || '/usr/bin/firefox-esr' } = {}) {
    if (typeof WebSocket === 'undefined')
      throw new Error('this Node.js has no WebSocket: run it with --experimental-websocket (Node 20) or use Node 22');
    const profile = mkdtempSync(join(tmpdir(), 'agg-firefox-'));
    // As if the window had the focus (a headless one has not): focus events fire, :focus applies.
    writeFileSync(join(profile, 'user.js'), 'user_pref("focusmanager.testmode", true);\n');
    const child = spawn(executable, ['--headless', '--no-remote', '--remote-debugging-port=0', '--profile', profile, 'about:blank'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    const address = await new Promise((resolve, reject) => {
      let output = '';
      child.stderr.on('data', (d) => {
        output = (output + d).slice(-8000);
        const m = /WebDriver BiDi listening on (ws:\/\/[^\s]+)/.exec(output);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`firefox exited (${code}) before listening:\n${output}`)));
    });
    const socket = new WebSocket(address + '/session');
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`cannot connect to ${address}/session`));
    });
    const browser = new Firefox(child, socket, profile);
    // The HTTPS pages the tests open present a certificate of the tests' own CA.
    await browser.send('session.new', { capabilities: { alwaysMatch: { acceptInsecureCerts: true } } });
    return browser;
  }

  constructor(child, socket, profile) {
    this.child = child;
    this.socket = socket;
    this.profile = profile;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.id === undefined) {
        for (const listener of this.listeners) listener(message);
        return;
      }
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiting) return;
      if (message.type === 'error') waiting.reject(new Error(`${waiting.method}: ${message.error}: ${message.message}`));
      else waiting.resolve(message.result);
    };
  }

  send(method, params = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  onEvent(listener) {
    this.listeners.push(listener);
  }

  /// The window Firefox opened, sized, with its console and requests recorded.
  async newPage({ width = 1280, height = 900 } = {}) {
    const { contexts } = await this.send('browsingContext.getTree', {});
    const page = new FirefoxPage(this, contexts[0].context);
    await this.send('session.subscribe', { events: ['log.entryAdded', 'network.beforeRequestSent'] });
    await this.send('browsingContext.setViewport', { context: page.context, viewport: { width, height } });
    return page;
  }

  async close() {
    try {
      await this.send('session.end');
    } catch (_) { /* it may be gone already */ }
    this.child.kill('SIGTERM');
    await new Promise((resolve) => (this.child.exitCode !== null ? resolve() : this.child.once('exit', resolve)));
    rmSync(this.profile, { recursive: true, force: true });
  }
}

class FirefoxPage extends BrowserPage {
  constructor(browser, context) {
    super();
    this.browser = browser;
    this.context = context;
    browser.onEvent((m) => {
      if (m.params?.source?.context !== undefined && m.params.source.context !== context) return;
      if (m.method === 'log.entryAdded' && (m.params.level === 'error' || m.params.level === 'warn'))
        this.problems.push(`${m.params.type} ${m.params.level}: ${m.params.text}`);
      else if (m.method === 'network.beforeRequestSent' && m.params.context === context)
        this.requested.push(m.params.request.url);
    });
  }

  send(method, params) {
    return this.browser.send(method, { context: this.context, ...params });
  }

  goto(url) {
    return this.send('browsingContext.navigate', { url, wait: 'complete' });
  }

  async evaluate(expression) {
    const { result, exceptionDetails, type } = await this.browser.send('script.evaluate', {
      expression: `(async () => JSON.stringify(await (${expression})))()`,
      target: { context: this.context }, awaitPromise: true, resultOwnership: 'none',
    });
    if (type === 'exception') throw new Error(`in the page: ${exceptionDetails.text}`);
    return result.type === 'string' ? JSON.parse(result.value) : undefined;
  }

  async key(name) {
    await this.send('input.performActions', {
      actions: [{ type: 'key', id: 'keyboard', actions: [{ type: 'keyDown', value: KEYS[name] }, { type: 'keyUp', value: KEYS[name] }] }],
    });
  }

  async element(selector) {
    const { nodes } = await this.send('browsingContext.locateNodes', { locator: { type: 'css', value: selector } });
    if (!nodes.length) throw new Error(`nothing in the page matches ${selector}`);
    return { sharedId: nodes[0].sharedId };
  }

  async hover(selector) {
    const element = await this.element(selector);
    await this.send('input.performActions', {
      actions: [{ type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' },
                  actions: [{ type: 'pointerMove', x: 0, y: 0, origin: { type: 'element', element } }] }],
    });
  }

  async setFiles(selector, path) {
    await this.send('input.setFiles', { element: await this.element(selector), files: [path] });
  }

  async screenshot() {
    const { data } = await this.send('browsingContext.captureScreenshot', { origin: 'document' });
    return Buffer.from(data, 'base64');
  }
}
