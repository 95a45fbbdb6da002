import { bytesToBase64 } from '../../shared/base64.ts';
import { sign } from './signature.ts';

// The sending side of Standard Webhooks, beside the verifying side (signature.ts) and sharing its
// HMAC: alert notifications carry `webhook-id` (the same on every retry, so receivers can drop
// repeats), `webhook-timestamp` (the attempt's own time: receivers refuse old ones) and
// `webhook-signature`.

export async function signedHeaders(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<Record<string, string>> {
  const timestamp = String(timestampSeconds);
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${await sign(secret, id, timestamp, body)}`,
  };
}

/** A new signing secret in the `whsec_<base64>` form receivers' libraries take: 24 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(24)))}`;
}

/** Whether a secret is in the `whsec_<base64 key>` form. */
export function isWebhookSecret(secret: string): boolean {
  if (!/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/.test(secret)) return false;
  try {
    return atob(secret.slice('whsec_'.length)).length >= 16;
  } catch {
    return false;
  }
}
