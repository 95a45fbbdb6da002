import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardScript } from '../../functions/dashboard/dashboard-script.generated.js';
import { startTestBackend, type TestBackend } from '../support/backend.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

// The dashboard as deployed: wrangler dev builds its browser code (wrangler.toml's [build]) and
// the Workers runtime serves it inline; headless Chromium runs it under the page's CSP against a
// real redis-server through our gateway.

const API_TOKEN = 'e2e-api-token';
const READ_TOKEN = 'e2e-read-token';

describe.skipIf(!hasChromium)('/dashboard on wrangler dev', () => {
  let backend: TestBackend;
  let api: WranglerDev;
  let browser: Browser;

  beforeAll(async () => {
    backend = await startTestBackend();
    api = await startWranglerDev({
      vars: {
        UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
        UPSTASH_REDIS_REST_TOKEN: backend.token,
        API_TOKEN,
        READ_TOKEN,
      },
    });
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await backend?.close();
  });

  it('serves the bundled browser code, which runs under the CSP and reads the API', async () => {
    const put = await fetch(`${api.url}/v1/groups/dc1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ips: ['198.18.0.1'] }),
    });
    expect(put.status).toBe(200);
    const html = await (await fetch(`${api.url}/dashboard`)).text();
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    // One script, the JavaScript scripts/build-dashboard.ts made of functions/dashboard/browser/.
    expect(scripts).toEqual([dashboardScript]);

    const page = await browser.newPage();
    await page.addInitScript({
      content:
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));",
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${api.url}/dashboard`);
    await page.fill('#token', READ_TOKEN);
    await page.click('#token-form button');
    await page.waitForSelector('#report h2');
    expect(await page.textContent('#groups')).toContain('dc1');
    expect(await page.textContent('#report h2')).toBe('dc1');
    expect(await page.evaluate('window.cspViolations')).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
