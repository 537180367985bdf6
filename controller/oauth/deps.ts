// What the OAuth server needs from the rest of the controller, and nothing more.
//
// Configuration (applications, plans, APIs, users, settings) is read through `OAuthConfig`, a
// narrow read-only view that the store's `ConfigReader` implements (`store.config`). Token state
// and the signing keyring are the store's `TokenState` and `KeyringStore`; the composition root
// (server/start.ts) hands over these members of the store, never the store itself.
import type { AuthorizationCodes } from '../store/authorization-codes.ts';
import type { KeyringStore } from '../store/keyring.ts';
import type { TokenState } from '../store/token-state.ts';
import type { ApiRecord, ApplicationRecord, PlanRecord, SettingsRecord, UserRecord } from '../store/records.ts';
import type { OAuthOptions } from './defaults.ts';
import type { ThrottleHits } from './throttle.ts';

export interface OAuthConfig {
  /** The application whose `spec.clientId` is exactly `clientId`. */
  applicationByClientId(clientId: string): ApplicationRecord | undefined;
  /** Every application: the metadata lists the password grant only when one of them uses it. */
  applications(): ApplicationRecord[];
  plan(name: string): PlanRecord | undefined;
  /** Every plan: retired signing keys stay published as long as the longest access token lives. */
  plans(): PlanRecord[];
  apis(): ApiRecord[];
  user(name: string): UserRecord | undefined;
  settings(): SettingsRecord | undefined;
}

export interface OAuthDeps {
  config: OAuthConfig;
  /** Issued tokens, refresh families, used assertion ids, revocations: `store.tokens`. */
  tokens: TokenState;
  /** The signing keyring: `store.keyring`. */
  keyring: KeyringStore;
  /** Authorization codes: `store.codes`. */
  codes: AuthorizationCodes;
  /** The 32-byte key client secrets are HMAC'd with (`controller/sealing/hashes.ts`). */
  secretHashKey: Uint8Array;
  /**
   * The issuer identifier (RFC 8414), from configuration (`--issuer` or `mergekey.yaml`), never
   * from a request's Host header. Endpoint URLs are derived from it.
   */
  issuer: string;
  /** The clock, in milliseconds since the epoch. Defaults to `Date.now`. */
  now?: () => number;
  options?: Partial<OAuthOptions>;
  /** Set when several processes serve together (`--workers`): their throttles count each other's events. */
  throttleSharing?: ThrottleSharing;
}

/** The OAuth server's throttles, by the name `OAuthContext.throttles` gives them. */
export type ThrottleName = 'requests' | 'clientAuthFailures' | 'passwordFailures' | 'inactiveTokens';

/** Events each throttle allowed, by throttle. */
export type SharedHits = Partial<Record<ThrottleName, ThrottleHits[]>>;

/**
 * How the processes serving together tell each other what their throttles allowed, so that a
 * plan's token request rate and the failure throttles hold across them (throttle.ts).
 */
export interface ThrottleSharing {
  /** Sends the events counted here to every other process. */
  publish(hits: SharedHits): void;
  /** Calls `receive` with what the other processes publish; returns the way to stop. */
  subscribe(receive: (hits: SharedHits) => void): () => void;
}
