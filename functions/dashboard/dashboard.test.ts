import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../shared/store.ts';
import { hasChromium, launchChromium } from '../../test/support/chromium.ts';
import { serveFetch } from '../../test/support/serve-fetch.ts';
import { app } from '../app.ts';
import { type ApiHarness, startApiHarness, TOKENS } from '../testing/api-harness.ts';

// The dashboard in a real headless Chromium against the real app and store: it lists groups and
// agents, shows every agent's view of the group, and draws an IP's history as bands and a line.

describe.skipIf(!hasChromium)('dashboard', () => {
  let harness: ApiHarness;
  let server: { url: string; close(): Promise<void> };
  let browser: Browser;
  const now = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    harness = await startApiHarness();
    const store = createStore(harness.backend.redis);
    await store.groups.replace('dc1', ['198.18.0.1', '198.18.0.2']);
    await store.jobs.put('edge1', { SPEC: '*/10 * * * * *', name: 'core', group: ['dc1'] });
    await store.agents.register('edge1');
    await store.agents.heartbeat(
      'edge1',
      { version: '0.1.0', hostname: 'edge1', pid: 1, started_at: new Date().toISOString(), jobs: ['core'] },
      60,
    );
    const status = (ip: string, err: string | null, returned: number) => ({
      ip,
      send_count: 10,
      return_count: returned,
      err,
      rtt_avg_ms: 12.5,
      loss_window: 1 - returned / 10,
      updated_at: new Date().toISOString(),
    });
    await harness.backend.redis.set(
      store.keys.ipStatus('edge1', '198.18.0.1'),
      JSON.stringify(status('198.18.0.1', null, 10)),
    );
    await harness.backend.redis.set(
      store.keys.ipStatus('edge1', '198.18.0.2'),
      JSON.stringify(status('198.18.0.2', 'timeout', 7)),
    );
    for (let i = 30; i >= 1; i--) {
      const t = Math.floor((now - i * 60) / 60) * 60;
      const base = 10 + (i % 5);
      const point = {
        t,
        sent: 6,
        received: i % 7 === 0 ? 4 : 6,
        min: base - 2,
        p10: base - 1,
        p25: base - 0.5,
        median: base,
        p75: base + 1,
        p90: base + 3,
        max: base + 6,
      };
      await harness.backend.redis.zadd(store.keys.ipMinutes('edge1', '198.18.0.1'), {
        score: t,
        member: JSON.stringify(point),
      });
    }
    server = await serveFetch((request) => app.fetch(request, harness.env));
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await harness?.close();
  });

  it('shows groups, agents, the report and a history graph with a read-only token', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#token', TOKENS.read);
    await page.click('#token-form button');
    await page.waitForSelector('#report table');
    expect(await page.textContent('#groups')).toContain('dc1');
    expect(await page.textContent('#agents')).toContain('edge1');
    const cells = await page.locator('#report td.cell').allTextContents();
    expect(cells).toHaveLength(2);
    expect(cells[0]).toContain('12.5 ms');
    expect(cells[1]).toContain('30% loss');
    await page.waitForSelector('#graph svg');
    expect(await page.locator('#graph rect.band-outer').count()).toBe(30);
    expect(await page.textContent('#graph-title')).toContain('198.18.0.1 from edge1');
    if (process.env.DASHBOARD_SCREENSHOT)
      await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
    await page.close();
  });

  it('draws the history of the cell clicked, over the range picked', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#token', TOKENS.read);
    await page.click('#token-form button');
    await page.waitForSelector('#graph svg');
    await page.click('#report td.cell[data-ip="198.18.0.2"]');
    // Waited for by selector: the page's CSP forbids the eval a string predicate would need.
    await page.waitForSelector('#graph-title:has-text("198.18.0.2")', { timeout: 10_000 });
    expect(await page.textContent('#graph-title')).toBe('198.18.0.2 from edge1, last 1h (minutes)');
    expect(await page.textContent('#graph')).toBe('No measurements in this range yet.');
    expect(await page.locator('#report td.cell.on').getAttribute('data-ip')).toBe('198.18.0.2');
    await page.click('#ranges button[data-range="24h"]');
    await page.waitForSelector('#graph-title:has-text("last 24h")', { timeout: 10_000 });
    expect(await page.locator('#ranges button.on').textContent()).toBe('24 h');
    await page.close();
  });

  it('sends a Content-Security-Policy and frame protection, and works under them', async () => {
    const res = await fetch(`${server.url}/dashboard`);
    await res.arrayBuffer();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const page = await browser.newPage();
    // Installed by the browser, not the page, so the policy under test does not block it.
    await page.addInitScript({
      content:
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));",
    });
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#token', TOKENS.read);
    await page.click('#token-form button');
    await page.waitForSelector('#graph svg');
    // The loss colour of each cell is set by the script, not by a style attribute the policy refuses.
    const dot = await page.evaluate(
      "getComputedStyle(document.querySelector('#report .dot')).backgroundColor",
    );
    expect(dot).not.toBe('rgba(0, 0, 0, 0)');
    expect(await page.evaluate('window.cspViolations')).toEqual([]);
    await page.close();
  });

  it('marks where the check says the fault likely is', async () => {
    // edge1 loses to 9 of its 10 targets across its groups: its own link.
    const store = createStore(harness.backend.redis);
    const rollup = { computed_at: new Date().toISOString(), targets: 10, lossy: 9 };
    await harness.backend.redis.set(store.keys.agentSummary('edge1'), JSON.stringify(rollup));
    const page = await browser.newPage();
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#token', TOKENS.read);
    await page.click('#token-form button');
    await page.waitForSelector('#report ul.diagnosis');
    expect(await page.textContent('#report ul.diagnosis')).toBe(
      'edge1 loses to 90% of its 10 targets: its own link',
    );
    const cells = await page.locator('#report td.cell').allTextContents();
    expect(cells[1]).toContain('likely the agent');
    expect(cells[0]).not.toContain('likely');
    await harness.backend.redis.del(store.keys.agentSummary('edge1'));
    await page.close();
  });

  it('says so when the token is wrong', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#token', 'wrong');
    await page.click('#token-form button');
    await page.waitForSelector('#status.bad');
    expect(await page.textContent('#status')).toMatch(/^401/);
    await page.close();
  });
});
