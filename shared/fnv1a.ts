// FNV-1a, 32 bits, over a string's UTF-16 code units: a cheap and stable way to spread names and
// IPs over phases and offsets, and a short stamp. Not a secret, and not proof against collisions.

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
