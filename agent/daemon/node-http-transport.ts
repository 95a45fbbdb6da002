import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Transport, TransportAnswer } from '../../shared/redis-requester.ts';

// The agent's way to the Redis REST endpoint: node:http and node:https instead of the global
// fetch. The first touch of Node's fetch (or Response, Headers, Request) loads undici and
// compiles its WebAssembly HTTP parser, which lifts the daemon's peak memory by some 30 MB at
// start (bench/RESULTS-agent.md); the daemon needs no other HTTP client, so it never pays for it.
//
// Connections are kept alive between requests, as fetch keeps them. The signal ends the request
// at any point, before the answer or while its body is read, with the signal's reason as the
// error, as fetch rejects.

export function nodeHttpTransport(): Transport {
  const agents = {
    http: new HttpAgent({ keepAlive: true }),
    https: new HttpsAgent({ keepAlive: true }),
  };
  return (url, { method, headers, body, signal }) =>
    new Promise<TransportAnswer>((resolve, reject) => {
      signal?.throwIfAborted();
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const req = (secure ? httpsRequest : httpRequest)(target, {
        method,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: secure ? agents.https : agents.http,
      });
      let res: IncomingMessage | undefined;
      const abort = () => {
        const reason: unknown = signal?.reason;
        const error =
          reason instanceof Error ? reason : new Error('the request was aborted', { cause: reason });
        res?.destroy(error);
        req.destroy(error);
      };
      const done = () => signal?.removeEventListener('abort', abort);
      signal?.addEventListener('abort', abort, { once: true });
      req.on('error', (error) => {
        done();
        reject(error);
      });
      req.on('response', (answer) => {
        res = answer;
        // A body that fails is seen by whoever reads it; unread, its error must not be uncaught.
        answer.on('error', () => {});
        answer.on('close', done);
        resolve(answerOf(answer));
      });
      req.end(body);
    });
}

function answerOf(res: IncomingMessage): TransportAnswer {
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? '',
    header(name) {
      const value = res.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
    async text() {
      const parts: Buffer[] = [];
      for await (const part of res) parts.push(part as Buffer);
      return Buffer.concat(parts).toString('utf8');
    },
    chunks: () => res,
  };
}
