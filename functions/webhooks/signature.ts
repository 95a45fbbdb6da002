import { base64ToBytes, bytesToBase64 } from '../../shared/base64.ts';
import { apiError } from '../errors.ts';

// Standard Webhooks verification: the sender signs "{webhook-id}.{webhook-timestamp}.{raw body}"
// with HMAC-SHA256 under the key inside `whsec_<base64>` and sends `v1,<base64 signature>`, several
// space-separated while keys rotate. WebCrypto does the work, so this runs on Workers and Node alike.

/** How far the sender's clock may be from ours, either way. */
export const TOLERANCE_SECONDS = 5 * 60;

/**
 * Standard Webhooks leaves the id's characters open (senders use base64 ids with `+`, `/`, `=`);
 * any visible ASCII is taken, up to a bound, and the replay key encodes it.
 */
export const WEBHOOK_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
export const WEBHOOK_ID_RULE = 'must be 1-128 visible ASCII characters (no spaces)';
/** webhook-timestamp: Unix seconds. */
export const WEBHOOK_TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;

export interface SignedHeaders {
  id: string;
  timestamp: string;
  signature: string;
}

/**
 * HMAC-SHA256 of the signed content, base64: what `v1,` is followed by. The body is signed as the
 * bytes that travelled (a string is taken as its UTF-8 bytes).
 */
export async function sign(
  secret: string,
  id: string,
  timestamp: string,
  body: string | Uint8Array,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    base64ToBytes(secret.replace(/^whsec_/, '')),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const encoder = new TextEncoder();
  const head = encoder.encode(`${id}.${timestamp}.`);
  const tail = typeof body === 'string' ? encoder.encode(body) : body;
  const content = new Uint8Array(head.byteLength + tail.byteLength);
  content.set(head, 0);
  content.set(tail, head.byteLength);
  const mac = await crypto.subtle.sign('HMAC', key, content);
  return bytesToBase64(new Uint8Array(mac));
}

/** Checks headers, clock and signature; throws the 400/401 that says which one is wrong. */
export async function verifySignature(
  secrets: readonly string[],
  headers: Partial<SignedHeaders>,
  body: string | Uint8Array,
  nowSeconds: number,
): Promise<SignedHeaders> {
  const { id, timestamp, signature } = headers;
  const missing = [
    id ? null : 'webhook-id',
    timestamp ? null : 'webhook-timestamp',
    signature ? null : 'webhook-signature',
  ].filter((h) => h !== null);
  if (missing.length > 0) {
    throw apiError(401, 'unauthorized', `a signed webhook needs the header(s) ${missing.join(', ')}`, {
      headers: missing,
    });
  }
  if (!WEBHOOK_ID_PATTERN.test(id!)) {
    throw apiError(400, 'invalid_request', `webhook-id ${WEBHOOK_ID_RULE}`);
  }
  if (!WEBHOOK_TIMESTAMP_PATTERN.test(timestamp!)) {
    throw apiError(
      400,
      'invalid_request',
      `webhook-timestamp must be Unix seconds, not "${timestamp!.slice(0, 40)}"`,
    );
  }
  const skew = nowSeconds - Number(timestamp);
  if (Math.abs(skew) > TOLERANCE_SECONDS) {
    throw apiError(
      401,
      'timestamp_out_of_range',
      `webhook-timestamp is ${Math.abs(skew)} s off; at most ${TOLERANCE_SECONDS} s allowed`,
      {
        skew_s: skew,
      },
    );
  }
  const offered = signature!
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => s.slice(3));
  let valid = false;
  for (const secret of secrets) {
    const expected = await sign(secret, id!, timestamp!, body);
    // Every offered signature is compared in full, so timing does not reveal a matching prefix.
    for (const candidate of offered) if (sameText(candidate, expected)) valid = true;
  }
  if (!valid)
    throw apiError(401, 'invalid_signature', 'no webhook-signature matches the body under WEBHOOK_SECRET');
  return { id: id!, timestamp: timestamp!, signature: signature! };
}

function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
