import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertStore } from '../../shared/store/alerts.ts';
import { createStore } from '../../shared/store.ts';
import { hasChromium, launchChromium } from '../../test/support/chromium.ts';
import { serveFetch } from '../../test/support/serve-fetch.ts';
import { deliverDue } from '../alerts/deliver.ts';
import { evaluateAlerts } from '../alerts/evaluate.ts';
import { app } from '../app.ts';
import { storeFromBindings } from '../env.ts';
import { type ApiHarness, startApiHarness, TOKENS } from '../testing/api-harness.ts';

// The dashboard's alerts panel in headless Chromium against the real app and store. Rules and
// notifiers are made through the API, and one real evaluation and delivery round (the scheduled
// handler's two steps) sends to real local receivers, one of which refuses, so the states and the
// delivery log shown are the ones the Worker leaves.

describe.skipIf(!hasChromium)('dashboard: alerts', () => {
  let harness: ApiHarness;
  let server: { url: string; close(): Promise<void> };
  let hook: { url: string; close(): Promise<void> };
  let broken: { url: string; close(): Promise<void> };
  let browser: Browser;

  beforeAll(async () => {
    harness = await startApiHarness();
    // Receivers on loopback, as in local development.
    harness.env.ALERT_ALLOW_LOCAL = 'true';
    const store = createStore(harness.backend.redis);
    await store.groups.replace('dc1', ['198.18.0.1', '198.18.0.2']);
    await store.jobs.put('edge1', { SPEC: '*/10 * * * * *', name: 'core', group: ['dc1'] });
    await store.agents.register('edge1');
    await store.agents.heartbeat(
      'edge1',
      { version: '0.1.0', hostname: 'edge1', pid: 1, started_at: new Date().toISOString(), jobs: ['core'] },
      60,
    );
    for (const [ip, returned] of [
      ['198.18.0.1', 10],
      ['198.18.0.2', 7],
    ] as const) {
      const status = {
        ip,
        send_count: 10,
        return_count: returned,
        err: returned < 10 ? 'timeout' : null,
        rtt_avg_ms: 12.5,
        updated_at: new Date().toISOString(),
      };
      await harness.backend.redis.set(store.keys.ipStatus('edge1', ip), JSON.stringify(status));
    }
    hook = await serveFetch(() => new Response(null, { status: 204 }));
    broken = await serveFetch(() => new Response('busy', { status: 503 }));
    server = await serveFetch((request) => app.fetch(request, harness.env));
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await hook?.close();
    await broken?.close();
    await harness?.close();
  });

  async function open(token: string): Promise<Page & { violations(): Promise<unknown> }> {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    // Installed by the browser, not the page, so the policy under test does not block it.
    await page.addInitScript({
      content:
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));",
    });
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#token', token);
    await page.click('#token-form button');
    return Object.assign(page, { violations: () => page.evaluate('window.cspViolations') });
  }

  it('says when there are no rules yet', async () => {
    const page = await open(TOKENS.read);
    await page.waitForSelector('#alert-rules p.empty:has-text("No alert rules")');
    expect(await page.textContent('#alert-log')).toBe('Pick a rule.');
    await page.close();
  });

  it('shows each rule with its state, and the delivery log of the one in trouble', async () => {
    for (const [name, url] of [
      ['hook', `${hook.url}/in`],
      ['broken', `${broken.url}/in`],
    ]) {
      expect(
        (await harness.call('PUT', `/v1/notifiers/${name}`, { body: { type: 'webhook', url } })).status,
      ).toBe(200);
    }
    const rules = {
      'dc1-loss': { group: 'dc1', max_loss: 0.1, for_s: 0, notify: ['hook', 'broken'] },
      'dc1-patient': { group: 'dc1', max_loss: 0.1, max_rtt_ms: 80, for_s: 600, notify: ['hook'] },
      'edges-down': { type: 'agent_offline', for_s: 120, notify: ['hook'] },
    };
    for (const [name, body] of Object.entries(rules)) {
      expect((await harness.call('PUT', `/v1/alerts/${name}`, { body })).status).toBe(200);
    }
    // One run of the scheduled handler's two steps; the refusing receiver is retried at once.
    const store = storeFromBindings(harness.env);
    const alerts = alertStore(store);
    const evaluation = await evaluateAlerts(store, alerts, Date.now());
    expect(evaluation.problems).toEqual([]);
    const sent = await deliverDue(alerts, {
      now: Date.now,
      deadlineMs: Date.now() + 20_000,
      retryBaseMs: 60_000,
      sleep: () => Promise.resolve(),
    });
    expect(sent).toEqual({ delivered: 1, retrying: 1, gaveUp: 0 });

    const page = await open(TOKENS.read);
    await page.waitForSelector('#alert-log tr.delivery');
    const rows = await page.locator('#alert-rules tr.rule').allTextContents();
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain('dc1-loss');
    expect(rows[0]).toContain('group dc1: loss > 10%');
    expect(rows[0]).toMatch(/firing 1 failing since /);
    expect(rows[1]).toContain('loss > 10% or RTT > 80 ms');
    expect(rows[1]).toContain('600 s');
    expect(rows[1]).toMatch(/pending 1 failing since /);
    expect(rows[2]).toContain('agents offline: any agent');
    expect(rows[2]).toContain('ok');
    expect(await page.locator('#alert-rules .phase.firing').count()).toBe(1);
    expect(await page.locator('#alert-rules tr.rule.on').getAttribute('data-rule')).toBe('dc1-loss');

    expect(await page.textContent('#alert-log-title')).toBe('Deliveries of dc1-loss');
    const log = await page.locator('#alert-log tr.delivery').allTextContents();
    // Newest first: the refusing receiver's three attempts of this round, and the one delivered.
    expect(log).toHaveLength(4);
    const brokenTarget = new URL(broken.url).origin;
    for (const line of log.slice(0, 3)) {
      expect(line).toContain('alert.firing');
      expect(line).toContain(`broken ${brokenTarget}`);
      expect(line).toContain('503');
      expect(line).toContain('retrying');
      expect(line).toContain('the receiver answered 503');
    }
    expect(log.map((l) => l.match(/retrying|delivered/)?.[0])).toEqual([
      'retrying',
      'retrying',
      'retrying',
      'delivered',
    ]);
    expect(log[3]).toContain(`hook ${new URL(hook.url).origin}`);
    expect(log[3]).toContain('204');
    expect(await page.locator('#alert-log time').first().getAttribute('datetime')).toMatch(
      /^\d{4}-\d\d-\d\dT/,
    );
    expect(await page.violations()).toEqual([]);
    if (process.env.DASHBOARD_SCREENSHOT)
      await page.locator('#alerts').screenshot({ path: process.env.DASHBOARD_SCREENSHOT });
    await page.close();
  });

  it('shows the log of the rule clicked', async () => {
    const page = await open(TOKENS.read);
    await page.waitForSelector('#alert-log tr.delivery');
    await page.click('#alert-rules tr[data-rule="edges-down"] button');
    // Waited for by selector: the page's CSP forbids the eval a string predicate needs when it polls.
    await page.waitForSelector('#alert-log p.empty:has-text("No deliveries yet")', { timeout: 10_000 });
    expect(await page.textContent('#alert-log-title')).toBe('Deliveries of edges-down');
    expect(await page.locator('#alert-rules tr.rule.on').getAttribute('data-rule')).toBe('edges-down');
    await page.click('#alert-rules tr[data-rule="dc1-loss"] button');
    await page.waitForSelector('#alert-log tr.delivery', { timeout: 10_000 });
    expect(await page.locator('#alert-log tr.delivery').count()).toBe(4);
    expect(await page.violations()).toEqual([]);
    await page.close();
  });

  it('says so in the panel when the token is wrong', async () => {
    const page = await open('wrong');
    await page.waitForSelector('#alert-rules .bad');
    expect(await page.textContent('#alert-rules')).toMatch(/^401 /);
    await page.close();
  });
});
