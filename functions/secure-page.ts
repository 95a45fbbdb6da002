import type { Context } from 'hono';
import { bytesToBase64 } from '../shared/base64.ts';

// The HTML pages (/dashboard, /docs) are served with a Content-Security-Policy that lets them run
// their own inline script and style, by hash, and nothing else: no other script, no plugin, no
// request but to this origin (the API they read), and no framing (clickjacking a page where a
// token is typed in). The hashes are taken from the page itself, so editing a page cannot leave
// its policy behind.

const policies = new Map<string, Promise<string>>();

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return `'sha256-${bytesToBase64(new Uint8Array(digest))}'`;
}

async function hashesOf(html: string, tag: 'script' | 'style'): Promise<string> {
  const bodies = [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
  const hashes = await Promise.all(bodies.map(sha256));
  return hashes.length > 0 ? hashes.join(' ') : "'none'";
}

async function policyFor(html: string): Promise<string> {
  return [
    "default-src 'none'",
    `script-src ${await hashesOf(html, 'script')}`,
    `style-src ${await hashesOf(html, 'style')}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Answers the page with its policy; pages are fixed text, so each policy is computed once. */
export async function securePage(c: Context, html: string): Promise<Response> {
  let policy = policies.get(html);
  if (!policy) {
    policy = policyFor(html);
    policies.set(html, policy);
  }
  c.header('Content-Security-Policy', await policy);
  // For browsers older than frame-ancestors.
  c.header('X-Frame-Options', 'DENY');
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  return c.html(html);
}
