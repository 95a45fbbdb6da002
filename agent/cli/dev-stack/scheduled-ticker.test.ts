import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { SCHEDULED_PATH, startScheduledTicker, type Ticker } from './scheduled-ticker.ts';

let ticker: Ticker | undefined;
afterEach(() => ticker?.stop());

it('calls the scheduled test route on every tick, reports failures, and never overlaps two runs', async () => {
  const paths: string[] = [];
  let inFlight = 0;
  let most = 0;
  let status = 200;
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    inFlight++;
    most = Math.max(most, inFlight);
    // Slower than a tick: the ticker must skip, not pile up.
    setTimeout(() => {
      inFlight--;
      res.writeHead(status).end();
    }, 120);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const problems: string[] = [];
  ticker = startScheduledTicker(url, (m) => problems.push(m), 40);
  await new Promise((r) => setTimeout(r, 500));
  status = 500;
  await new Promise((r) => setTimeout(r, 300));
  ticker.stop();
  await new Promise((r) => setTimeout(r, 200));
  server.close();
  expect(paths.length).toBeGreaterThanOrEqual(3);
  expect(new Set(paths)).toEqual(new Set([SCHEDULED_PATH]));
  expect(most).toBe(1);
  expect(problems).toContain('the scheduled handler answered 500');
});
