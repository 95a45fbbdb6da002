import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { app } from '../../functions/app.ts';
import type { Bindings } from '../../functions/env.ts';

// The Worker's app behind a plain Node HTTP server, for tests of HTTP clients (the check command)
// that do not need the Workers runtime itself; the wrangler tests cover that.

export interface ServedApp {
  url: string;
  close(): Promise<void>;
}

export async function serveApp(env: Bindings): Promise<ServedApp> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      body: hasBody ? Buffer.concat(chunks) : undefined,
    });
    const response = await app.fetch(request, env);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
