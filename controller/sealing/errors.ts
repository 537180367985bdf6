// Errors of sealing and of the controller's key files, each with a stable code. Messages name the
// object, the key id or the file concerned and never carry a secret, sealed or opened.

export type SealingErrorCode =
  /** The value was sealed for another object (its authenticated `bind` names that object). */
  | 'sealing.bound-elsewhere'
  /** The value fails authentication: it was altered, or truncated, after sealing. */
  | 'sealing.tampered'
  /** The value is not a compact JWE (five base64url parts, a JSON protected header). */
  | 'sealing.malformed'
  /** The value uses an algorithm other than ECDH-ES+A256KW with A256GCM. */
  | 'sealing.algorithm'
  /** The value asks for compression (`zip`), which is refused (compression oracles, zip bombs). */
  | 'sealing.compressed'
  /** The value (or the one a secret would make) is over the 8 KiB limit. */
  | 'sealing.too-large'
  /** The value was sealed to another key than this controller's (its `kid` differs). */
  | 'sealing.wrong-key'
  /** A public sealing key that is not an X25519 ECDH-ES+A256KW public JWK. */
  | 'sealing.bad-key'
  /** A secret that cannot be sealed (empty, or not for an object that holds sealed values). */
  | 'sealing.bad-secret'
  /** A key file that is group- or world-accessible. */
  | 'sealing.key-permissions'
  /** A key file that cannot be read or does not hold a valid key. */
  | 'sealing.key-file'
  /** Key files absent where they must exist (one of the pair, or creation not allowed). */
  | 'sealing.missing-keys';

export class SealingError extends Error {
  override readonly name = 'SealingError';
  readonly code: SealingErrorCode;

  constructor(code: SealingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
