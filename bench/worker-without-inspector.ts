import { unstable_startWorker } from 'wrangler';

// Runs a Worker on the same local runtime as `wrangler dev` (wrangler's dev server, workerd), with
// one difference: no DevTools inspector. `wrangler dev` always attaches one and enables its
// Network domain, so for every outbound fetch the runtime sends four events (the response body
// base64-encoded among them) to an inspector proxy worker, which posts each to wrangler's Node
// process, which formats it and appends it to a debug log file. On Cloudflare none of that
// exists. bench/api.ts runs this as a child process, so its CPU is counted apart:
//
//   BENCH_WORKER='{"port":8787,"vars":{...},"script":"bench/bare-worker.ts"}' node bin/run-ts.js bench/worker-without-inspector.ts

interface Settings {
  port: number;
  vars: Record<string, string>;
  /** A worker file instead of wrangler.toml's `main` (the bare route). */
  script?: string;
}

const settings = JSON.parse(process.env.BENCH_WORKER ?? '{}') as Settings;
const worker = await unstable_startWorker({
  ...(settings.script
    ? { entrypoint: settings.script, name: 'ping-agent-bench', compatibilityDate: '2026-04-20' }
    : { config: 'wrangler.toml' }),
  bindings: Object.fromEntries(
    Object.entries(settings.vars).map(([name, value]) => [name, { type: 'plain_text' as const, value }]),
  ),
  dev: {
    server: { hostname: '127.0.0.1', port: settings.port },
    inspector: false,
    logLevel: 'warn',
    watch: false,
  },
});
await worker.ready;
process.stdout.write(`ready ${(await worker.url).href}\n`);
const stop = () => {
  worker.dispose().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
