// What the page tests ask of a browser tab, whichever browser and protocol drive it (cdp.mjs:
// chromium over the DevTools protocol; bidi.mjs: Firefox over WebDriver BiDi).
//
// A page has: goto(url); evaluate(expression) -> its JSON value (awaited when it is a promise);
// waitFor(expression, ms); key('Enter' | 'Tab'); hover(selector); setFiles(selector, path);
// screenshot() -> PNG bytes; `problems` (console errors and warnings, uncaught exceptions) and
// `requested` (the URL of every request it made).
export class BrowserPage {
  constructor() {
    this.problems = [];
    this.requested = [];
  }

  /// Waits, in the page, until `predicate` (an expression) is truthy; its value. Bounded by `ms`.
  waitFor(predicate, ms = 30000) {
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
}

/// Starts `name` ('chromium' or 'firefox') headless.
export async function launchBrowser(name) {
  if (name === 'chromium') return (await import('./cdp.mjs')).Chromium.launch();
  if (name === 'firefox') return (await import('./bidi.mjs')).Firefox.launch();
  throw new Error(`no driver for the browser '${name}'`);
}
