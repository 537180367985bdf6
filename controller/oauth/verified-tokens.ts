// A bounded memory of the access tokens whose signature this process has verified (issue 13). A
// resource server introspects the same live token on every call it serves, and checking an ES256
// signature again each time was most of an introspection's CPU (README.md, "Performance"): a
// token found here skips the signature check and the parsing of its claims, and nothing else.
//
// What can change is still checked on every call: the token's expiry against the clock (its
// `nbf`, if any, was checked when it was verified, and time moves on), that the key which verified
// it is still the key this process holds for its kid (a key pruned from the keyring ends its
// entries), and, by the caller, liveness (revocation, cut-offs, the application's state, the
// family), so a revocation is as strong as before. Only tokens whose signature verified are
// remembered, so no forgery and no malformed token ever takes a place. Entries are keyed by the
// token's SHA-256 (one hash per lookup, no token text kept as a key); when full, the oldest entry
// goes first.
import { createHash } from 'node:crypto';
import type { AccessTokenClaims } from './access-token.ts';

/** What a verification established, and with which key. */
export interface VerifiedToken {
  claims: AccessTokenClaims;
  /** The key header's `kid` named. */
  kid: string;
  /** The key record that verified it, as `SigningKeys.verificationKey` returned it: compared by identity. */
  verifiedBy: object;
}

/** Enough for every token a busy resource server sees within a token's lifetime, at a few MB. */
export const VERIFIED_TOKENS_CAPACITY = 10_000;

export class VerifiedTokens {
  readonly #entries = new Map<string, VerifiedToken>();
  readonly #capacity: number;

  constructor(capacity: number = VERIFIED_TOKENS_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`the verified-token capacity must be a positive integer: ${capacity}`);
    this.#capacity = capacity;
  }

  get(token: string): VerifiedToken | undefined {
    return this.#entries.get(digest(token));
  }

  remember(token: string, verified: VerifiedToken): void {
    const key = digest(token);
    if (!this.#entries.has(key) && this.#entries.size >= this.#capacity) {
      // A Map iterates in insertion order: the first key is the oldest entry.
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, verified);
  }

  forget(token: string): void {
    this.#entries.delete(digest(token));
  }

  get size(): number {
    return this.#entries.size;
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
