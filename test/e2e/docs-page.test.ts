import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../functions/app.ts';
import { type ApiHarness, startApiHarness } from '../../functions/testing/api-harness.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';
import { serveFetch } from '../support/serve-fetch.ts';

// /docs in a real headless Chromium: the page loads /openapi.json and lists every route.

describe.skipIf(!hasChromium)('/docs', () => {
  let api: ApiHarness;
  let server: { url: string; close(): Promise<void> };
  let browser: Browser;

  beforeAll(async () => {
    api = await startApiHarness();
    server = await serveFetch((request) => app.fetch(request, api.env));
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await api?.close();
  });

  it('renders every route of the OpenAPI document, grouped by tag, under its CSP', async () => {
    const res = await fetch(`${server.url}/docs`);
    await res.arrayBuffer();
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const page = await browser.newPage();
    await page.addInitScript({
      content:
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));",
    });
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector('#routes details');
    const summaries = await page.locator('#routes summary').allTextContents();
    expect(summaries.some((s) => /get\s+\/v1\/check/i.test(s))).toBe(true);
    expect(summaries.some((s) => /post\s+\/v1\/webhooks\/groups\/\{group\}/i.test(s))).toBe(true);
    // One per operation of the document (counted from it, so a new route needs no edit here).
    const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const methods = new Set(['get', 'put', 'post', 'patch', 'delete']);
    const operations = Object.values(spec.paths).flatMap((p) => Object.keys(p).filter((m) => methods.has(m)));
    expect(operations.length).toBeGreaterThanOrEqual(21);
    expect(summaries.length).toBe(operations.length);
    expect(summaries.some((s) => /post\s+\/v1\/measurements/i.test(s))).toBe(true);
    const tags = await page.locator('#routes h2').allTextContents();
    expect(tags).toEqual(
      expect.arrayContaining([
        'groups',
        'jobs',
        'agents',
        'reports',
        'check',
        'measurements',
        'webhooks',
        'Schemas',
      ]),
    );
    expect(await page.evaluate('window.cspViolations')).toEqual([]);
    await page.close();
  });
});
