// The key the portal signs its markers with: the person it recorded in a pull request's body
// (`requested-by=`) and in a decision comment (`by=`). The portal opens and closes pull requests
// with one bot token, so GitHub names the bot; the person is in text that anyone with triage or
// write access can edit afterwards (bodies, and on GitHub comments). A marker is therefore
// believed only with a MAC that verifies under this key, bound to what identifies the request.
//
// The key is derived (HKDF-SHA256) from the secret-hash key in `<data>/keys/`: only the server
// holds it, it survives a store rebuild, and every replica sharing the data directory's keys
// derives the same one. Its own `info` keeps it apart from every other use of that key.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

const INFO = 'mergekey portal markers v1';

export interface MarkerKey {
  /** The MAC (base64url) of `fields`, each field kept apart from the next. */
  mac(fields: readonly string[]): string;
  /** Whether `mac` is the MAC of `fields`, compared in constant time. */
  verifies(fields: readonly string[], mac: string): boolean;
}

export function markerKey(secretHashKey: Uint8Array): MarkerKey {
  if (secretHashKey.length !== 32) throw new Error('the secret-hash key must be 32 bytes');
  const key = Buffer.from(hkdfSync('sha256', secretHashKey, new Uint8Array(0), INFO, 32));
  const digest = (fields: readonly string[]) => {
    const hmac = createHmac('sha256', key);
    // Length-prefixed, so that no two lists of fields hash the same bytes.
    for (const field of fields) hmac.update(`${Buffer.byteLength(field, 'utf8')}:${field}`, 'utf8');
    return hmac.digest();
  };
  return {
    mac: (fields) => digest(fields).toString('base64url'),
    verifies(fields, mac) {
      const presented = Buffer.from(mac, 'base64url');
      const expected = digest(fields);
      return presented.length === expected.length && timingSafeEqual(presented, expected);
    },
  };
}
