// The signing keyring in the store: the keys that sign access tokens, written by whichever
// process rotates them (oauth/signing-keys.ts decides when and how; this module only keeps the
// ring). One record, `signing-keys` db, key `keyring` → Keyring, replaced whole under an expected
// version, so two processes rotating at once cannot both win.
//
// Reads and replacements return Promises: on a shared database (issue 13) each is a round trip,
// and the keyring is read only at start, on rotation and when an unknown kid is presented, never
// per token. A replacement resolves once committed and flushed, through the store's health.
import type { StoreHandles } from './handles.ts';
import { durableWrite } from './health.ts';
import type { TOKEN_STATE_VERSION } from './token-state.ts';

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  /**
   * The private JWK, encrypted with a key derived from `keys/secret-hash.key` (signing-keys.ts):
   * a copy of the store alone (a backup, `store.damaged-*`, a PostgreSQL dump) cannot sign tokens.
   */
  sealedPrivateJwk?: string;
  /** The private JWK in the clear, as stores written before the encryption hold it; re-sealed at start. */
  privateJwk?: Record<string, unknown>;
  /** `next` is published ahead of use, `current` signs, `retired` is published until its tokens expire. */
  state: 'next' | 'current' | 'retired';
  createdAt: number;
  activatedAt?: number;
  retiredAt?: number;
}

export interface Keyring {
  v: typeof TOKEN_STATE_VERSION;
  /** Incremented by every change, so two processes rotating at once cannot both win. */
  version: number;
  keys: SigningKeyRecord[];
}

export interface KeyringStore {
  /** The keyring as last committed by any process; undefined before the first key was made. */
  keyring(): Promise<Keyring | undefined>;
  /** Replaces the keyring if its version is still `expectedVersion` (undefined: there is none yet). */
  replaceKeyring(expectedVersion: number | undefined, keyring: Keyring): Promise<boolean>;
}

const KEYRING = 'keyring';

export function keyringStore(handles: StoreHandles): KeyringStore {
  const { signingKeys } = handles;
  const durable = durableWrite(handles);
  const read = () => signingKeys.get(KEYRING);
  return {
    keyring: async () => read(),
    replaceKeyring(expectedVersion, keyring) {
      return durable(() => {
        if (read()?.version !== expectedVersion) return false;
        signingKeys.put(KEYRING, keyring);
        return true;
      });
    },
  };
}
