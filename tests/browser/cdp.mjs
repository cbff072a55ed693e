// A small Chrome DevTools Protocol client over --remote-debugging-pipe: chromium reads commands
// from its descriptor 3 and writes replies and events to 4, each message JSON ended by a NUL byte.
// No WebSocket, no npm package: Node's standard library and the system chromium only.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Browser {
  static async launch({ executable = process.env.AGG_CHROMIUM || '/usr/bin/chromium', width = 1280, height = 900 } = {}) {
    const profile = mkdtempSync(join(tmpdir(), 'agg-chromium-'));
    const child = spawn(executable, [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
      '--disable-extensions', '--disable-background-networking', '--disable-component-update',
      '--remote-debugging-pipe', `--user-data-dir=${profile}`, `--window-size=${width},${height}`, 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    const browser = new Browser(child, profile);
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
  async newPage() {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    return new Page(this, sessionId);
  }

  async close() {
    try {
      await this.send('Browser.close');
    } catch (_) { /* it may be gone already */ }
    await new Promise((resolve) => (this.child.exitCode !== null ? resolve() : this.child.once('exit', resolve)));
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(browser, sessionId) {
    this.browser = browser;
    this.sessionId = sessionId;
    this.problems = [];  // console errors, uncaught exceptions, failed loads: what a person would see in devtools
    this.loaded = null;
    browser.onEvent((m) => {
      if (m.sessionId !== sessionId) return;
      if (m.method === 'Runtime.exceptionThrown')
        this.problems.push('exception: ' + (m.params.exceptionDetails.exception?.description || m.params.exceptionDetails.text));
      else if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'warning'))
        this.problems.push(`console.${m.params.type}: ` + m.params.args.map((a) => a.value ?? a.description).join(' '));
      else if (m.method === 'Log.entryAdded' && (m.params.entry.level === 'error' || m.params.entry.level === 'warning'))
        this.problems.push(`log ${m.params.entry.level} (${m.params.entry.source}): ${m.params.entry.text} ${m.params.entry.url || ''}`);
      else if (m.method === 'Page.loadEventFired' && this.loaded) this.loaded();
    });
  }

  send(method, params = {}) {
    return this.browser.send(method, params, this.sessionId);
  }

  async enable() {
    await Promise.all(['Runtime.enable', 'Log.enable', 'Page.enable', 'DOM.enable'].map((m) => this.send(m)));
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

  /// Waits, in the page, until `predicate` (an expression) is truthy; its value. Bounded by `ms`.
  async waitFor(predicate, ms = 30000) {
    return this.evaluate(`new Promise((resolve, reject) => {
      const limit = performance.now() + ${ms};
      const check = () => {
        let value;
        try { value = (${predicate}); } catch (e) { return reject(e); }
        if (value) return resolve(value);
        if (performance.now() > limit) return reject(new Error('waited ${ms} ms for: ' + ${JSON.stringify(predicate)}));
        setTimeout(check, 10);
      };
      check();
    })`);
  }

  /// One key pressed and released, as a keyboard would (`text` for keys that type: Enter is "\r").
  async key(key, code, keyCode, text = undefined) {
    await this.send('Input.dispatchKeyEvent', { type: 'keyDown', key, code, windowsVirtualKeyCode: keyCode, text });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', key, code, windowsVirtualKeyCode: keyCode });
  }

  async screenshot() {
    const { data } = await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
    return Buffer.from(data, 'base64');
  }
}
