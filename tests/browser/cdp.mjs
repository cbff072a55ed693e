// Chromium driven over the Chrome DevTools Protocol on --remote-debugging-pipe: it reads commands
// from its descriptor 3 and writes replies and events to 4, each message JSON ended by a NUL byte.
// No WebSocket, no npm package: Node's standard library and the system chromium only.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserPage } from './browser_page.mjs';

const KEYS = { Enter: { key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, text: '\r' },
               Tab: { key: 'Tab', code: 'Tab', windowsVirtualKeyCode: 9 } };

export class Chromium {
  static async launch({ executable = process.env.AGG_CHROMIUM || '/usr/bin/chromium', width = 1280, height = 900 } = {}) {
    const profile = mkdtempSync(join(tmpdir(), 'agg-chromium-'));
    const child = spawn(executable, [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
      '--disable-extensions', '--disable-background-networking', '--disable-component-update',
      // The HTTPS pages the tests open present a certificate of the tests' own CA.
      '--ignore-certificate-errors',
      '--remote-debugging-pipe', `--user-data-dir=${profile}`, `--window-size=${width},${height}`, 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    const browser = new Chromium(child, profile);
    await browser.send('Browser.getVersion');
    return browser;
  }

  constructor(child, profile) {
    this.child = child;
    this.profile = profile;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    this.stderr = '';
    child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    let buffered = Buffer.alloc(0);
    child.stdio[4].on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      let end;
      while ((end = buffered.indexOf(0)) >= 0) {
        this.dispatch(JSON.parse(buffered.subarray(0, end).toString('utf8')));
        buffered = buffered.subarray(end + 1);
      }
    });
    child.on('exit', (code, signal) => {
      for (const { reject } of this.pending.values())
        reject(new Error(`chromium exited (${code ?? signal}) before answering; its stderr:\n${this.stderr}`));
      this.pending.clear();
    });
  }

  dispatch(message) {
    if (message.id !== undefined) {
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiting) return;
      if (message.error) waiting.reject(new Error(`${waiting.method}: ${message.error.message}`));
      else waiting.resolve(message.result);
      return;
    }
    for (const listener of this.listeners) listener(message);
  }

  /// A command to the browser, or to an attached target when `sessionId` is given.
  send(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    const message = { id, method, params };
    if (sessionId) message.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.child.stdio[3].write(JSON.stringify(message) + '\0');
    });
  }

  onEvent(listener) {
    this.listeners.push(listener);
  }

  /// A new tab, attached (flat sessions), with its events delivered to the page object.
  async newPage({ width = 1280, height = 900 } = {}) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new ChromiumPage(this, sessionId);
    await page.enable(width, height);
    return page;
  }

  async close() {
    try {
      await this.send('Browser.close');
    } catch (_) { /* it may be gone already */ }
    await new Promise((resolve) => (this.child.exitCode !== null ? resolve() : this.child.once('exit', resolve)));
    rmSync(this.profile, { recursive: true, force: true });
  }
}

class ChromiumPage extends BrowserPage {
  constructor(browser, sessionId) {
    super();
    this.browser = browser;
    this.sessionId = sessionId;
    this.loaded = null;
    browser.onEvent((m) => {
      if (m.sessionId !== sessionId) return;
      if (m.method === 'Runtime.exceptionThrown')
        this.problems.push('exception: ' + (m.params.exceptionDetails.exception?.description || m.params.exceptionDetails.text));
      else if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'warning'))
        this.problems.push(`console.${m.params.type}: ` + m.params.args.map((a) => a.value ?? a.description).join(' '));
      else if (m.method === 'Log.entryAdded' && (m.params.entry.level === 'error' || m.params.entry.level === 'warning'))
        this.problems.push(`log ${m.params.entry.level} (${m.params.entry.source}): ${m.params.entry.text} ${m.params.entry.url || ''}`);
      else if (m.method === 'Network.requestWillBeSent') this.requested.push(m.params.request.url);
      else if (m.method === 'Page.loadEventFired' && this.loaded) this.loaded();
    });
  }

  send(method, params = {}) {
    return this.browser.send(method, params, this.sessionId);
  }

  async enable(width, height) {
    await Promise.all(['Runtime.enable', 'Log.enable', 'Page.enable', 'DOM.enable', 'Network.enable'].map((m) => this.send(m)));
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    // As if the window had the focus (a headless tab may not): :focus styles apply, focus events fire.
    await this.send('Emulation.setFocusEmulationEnabled', { enabled: true });
  }

  async goto(url) {
    const loaded = new Promise((resolve) => { this.loaded = resolve; });
    const { errorText } = await this.send('Page.navigate', { url });
    if (errorText) throw new Error(`cannot open ${url}: ${errorText}`);
    await loaded;
  }

  /// The value of `expression` in the page (awaited when it is a promise), or the page's exception.
  async evaluate(expression) {
    const { result, exceptionDetails } = await this.send('Runtime.evaluate', {
      expression, awaitPromise: true, returnByValue: true,
    });
    if (exceptionDetails) throw new Error(`in the page: ${exceptionDetails.exception?.description || exceptionDetails.text}`);
    return result.value;
  }

  /// One key pressed and released, as a keyboard would.
  async key(name) {
    const { text, ...key } = KEYS[name];
    await this.send('Input.dispatchKeyEvent', { type: 'keyDown', ...key, text });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', ...key });
  }

  /// The pointer moved to the middle of the element `selector` finds (scrolled into view).
  async hover(selector) {
    const at = await this.evaluate(`(() => {
      const element = document.querySelector(${JSON.stringify(selector)});
      element.scrollIntoView({ block: 'center' });
      const box = element.getBoundingClientRect();
      return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
    })()`);
    // From outside the page first: a move to where the pointer already is (a bar redrawn under it)
    // is no move to chromium, and would fire no mouseover.
    await this.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: 0, y: 0 });
    await this.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: at.x, y: at.y });
  }

  /// Chooses `path` in the file input `selector` finds, as a person would in the file dialog.
  async setFiles(selector, path) {
    const { root } = await this.send('DOM.getDocument');
    const { nodeId } = await this.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    await this.send('DOM.setFileInputFiles', { nodeId, files: [path] });
  }

  async screenshot() {
    const { data } = await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
    return Buffer.from(data, 'base64');
  }
}
