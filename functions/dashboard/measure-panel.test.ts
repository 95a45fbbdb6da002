import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../shared/store.ts';
import { hasChromium, launchChromium } from '../../test/support/chromium.ts';
import { serveFetch } from '../../test/support/serve-fetch.ts';
import { app } from '../app.ts';
import { type ApiHarness, startApiHarness, TOKENS } from '../testing/api-harness.ts';

// The dashboard's "measure now" panel in headless Chromium against the real app and store. The
// agent's side is played through the store: as soon as the measurement is stored, its figures
// are written the way an agent writes them.

describe.skipIf(!hasChromium)('dashboard: measure now', () => {
  let harness: ApiHarness;
  let server: { url: string; close(): Promise<void> };
  let browser: Browser;

  beforeAll(async () => {
    harness = await startApiHarness();
    const store = createStore(harness.backend.redis);
    await store.groups.replace('dc1', ['198.18.0.1']);
    await store.agents.register('edge1');
    await store.agents.heartbeat(
      'edge1',
      { version: '0.1.0', hostname: 'edge1', pid: 1, started_at: 'p1', jobs: [] },
      60,
    );
    server = await serveFetch((request) => app.fetch(request, harness.env));
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await harness?.close();
  });

  /** Plays the agent: finishes every measurement that appears, with the figures of each target. */
  function fakeAgent(): () => void {
    const store = createStore(harness.backend.redis);
    const timer = setInterval(async () => {
      for (const key of await harness.backend.redis.keys(store.keys.measurement('*'))) {
        const request = await store.measurements.request(key.slice('measurement_'.length));
        if (!request) continue;
        const figures = request.targets.map((ip) => ({
          ip,
          sent: request.count,
          received: request.count - 1,
          loss: 1 / request.count,
          rtt_ms: { min: 1.5, avg: 2.5, max: 3.5, p50: 2.5, p95: 3.4, mdev: 0.8 },
          ttl: 64,
          late: 0,
          duplicates: 0,
          errors: { unreachable: null, ttl_exceeded: null },
        }));
        await store.measurements.markFinished(request, 'edge1', Date.now(), figures, Date.now());
      }
    }, 100);
    return () => clearInterval(timer);
  }

  it('starts a measurement of the selected group with the write token and shows its figures', async () => {
    const stop = fakeAgent();
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.addInitScript({
      content:
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective));",
    });
    try {
      await page.goto(`${server.url}/dashboard`);
      await page.fill('#token', TOKENS.write);
      await page.click('#token-form button');
      await page.waitForSelector('#report h2');
      await page.fill('#measure-count', '4');
      await page.click('#measure-form button');
      await page.waitForSelector('#measure-result tr.target');
      const row = await page.locator('#measure-result tr.target').allTextContents();
      expect(row).toHaveLength(1);
      expect(row[0]).toContain('edge1');
      expect(row[0]).toContain('198.18.0.1');
      expect(row[0]).toContain('4 / 3');
      expect(row[0]).toContain('25%');
      expect(row[0]).toContain('1.50 ms / 2.50 ms / 3.50 ms');
      expect(await page.textContent('#measure-result')).toContain('done');
      expect(await page.evaluate('window.cspViolations')).toEqual([]);
    } finally {
      stop();
      await page.close();
    }
  });

  it('shows the refusal with the read-only token or a bad target', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#token', TOKENS.read);
    await page.click('#token-form button');
    await page.waitForSelector('#report h2');
    await page.click('#measure-form button');
    await page.waitForSelector('#measure-result .bad');
    expect(await page.textContent('#measure-result')).toMatch(/^403 /);
    await page.fill('#token', TOKENS.write);
    await page.click('#token-form button');
    await page.fill('#measure-targets', '224.0.0.1');
    await page.click('#measure-form button');
    // Waited for by selector: the page's CSP forbids the eval a string predicate needs when it polls.
    await page.waitForSelector('#measure-result .bad:has-text("422")', { timeout: 10_000 });
    expect(await page.textContent('#measure-result')).toContain('multicast');
    await page.close();
  });
});
