// Client secrets for requests: generated from the OS CSPRNG, sealed to the controller's key in
// mergekey.yaml (bound to the application), shown once, and kept in the developer's credentials
// file. The same internals as `mergekey app new`.
import type { RequestSummary } from './index.ts';
import type { Application, ClientSecret, Settings } from '../manifests/types.generated.ts';
import { generateClientSecret } from '../sealing/generate.ts';
import { seal } from '../sealing/seal.ts';
import { credentialsPath, findCredential, readCredentials, saveCredential, type StoredCredential } from '../../cli/credentials.ts';
import { failure } from '../../cli/errors.ts';
import { NO_SEALING_KEY, sealingKeyOf } from '../../cli/commands/seal.ts';

export interface NewSecret {
  secret: string;
  sealed: string;
}

/** A fresh secret sealed for `Application/<name>`. Throws a failure when main has no sealing key. */
export async function newSealedSecret(settings: Settings | undefined, name: string): Promise<NewSecret> {
  if (settings === undefined) throw failure(`mergekey.yaml is missing or invalid on the main branch; ${NO_SEALING_KEY}`);
  const publicJwk = await sealingKeyOf(settings);
  const secret = generateClientSecret();
  return { secret, sealed: await seal(publicJwk, { kind: 'Application', name }, secret) };
}

/** Fails early, before anything is generated or pushed, when the credentials file is unusable. */
export function requireCredentialsFile(env: NodeJS.ProcessEnv): string {
  const path = credentialsPath(env);
  readCredentials(path);
  return path;
}

/**
 * A saved credential with what a request made of it. The credentials file keeps whatever members
 * its entries have; these optional ones record a rotation, so that the secret in use is still known
 * while the rotation is pending, and again if it is rejected.
 */
export interface RequestCredential extends StoredCredential {
  /** The request that introduced `clientSecret`. */
  request?: number;
  /** During a rotation: the secret in use until the rotation request is merged. */
  previousClientSecret?: string;
}

export interface LocalSecrets {
  /** The secret that works now (once the controller applied what is merged). */
  current?: string;
  /** A rotated secret whose request is still open: it works once that request is merged. */
  pending?: { secret: string; request: number };
}

/**
 * Which saved secret is in use, given the application's requests: a rotation's new secret once
 * its request is merged, the previous one while it is open or after it was rejected or cancelled.
 */
export function localSecrets(credential: RequestCredential | undefined, clientId: string, requests: readonly RequestSummary[]): LocalSecrets {
  if (credential === undefined || credential.clientId !== clientId || credential.clientSecret === undefined) return {};
  if (credential.previousClientSecret === undefined || credential.request === undefined) return { current: credential.clientSecret };
  const request = requests.find((candidate) => candidate.number === credential.request);
  if (request === undefined || request.state === 'merged') return { current: credential.clientSecret };
  if (request.state === 'open') return { current: credential.previousClientSecret, pending: { secret: credential.clientSecret, request: request.number } };
  return { current: credential.previousClientSecret };
}

export function findRequestCredential(env: NodeJS.ProcessEnv, issuer: string, app: string): RequestCredential | undefined {
  return findCredential(credentialsPath(env), issuer, app) as RequestCredential | undefined;
}

/**
 * Saves a generated credential. Never throws: the request already exists and the secret is about
 * to be shown, so a failure to save becomes a warning that tells the developer to copy it now.
 */
export function keepCredential(
  env: NodeJS.ProcessEnv,
  issuer: string,
  app: string,
  credential: { clientId: string; clientSecret?: string | undefined; request: number; previousClientSecret?: string | undefined },
): { savedTo?: string; warning?: string } {
  const path = credentialsPath(env);
  try {
    const entry: RequestCredential = {
      clientId: credential.clientId,
      ...(credential.clientSecret === undefined ? {} : { clientSecret: credential.clientSecret }),
      createdAt: new Date().toISOString(),
      request: credential.request,
      ...(credential.previousClientSecret === undefined ? {} : { previousClientSecret: credential.previousClientSecret }),
    };
    saveCredential(path, issuer, app, entry, env);
    return { savedTo: path };
  } catch (error) {
    return { warning: `the credentials could not be saved (${(error as Error).message}); copy the secret now, it is not shown again` };
  }
}

export interface RotatedSecret {
  /** The new secret, shown once. */
  secret: string;
  /** The application's secrets after the rotation: the current one with its expiry, then the new one. */
  secrets: ClientSecret[];
  /** When the current secret stops working (RFC 3339). */
  oldExpiresAt: string;
  /** Where the new secret was saved; set by `save`. */
  savedTo?: string;
  warning?: string;
}

export interface RotateOptions {
  app: Application;
  settings: Settings | undefined;
  now: number;
  oldSecretExpiresInMs: number;
}

/**
 * A rotation: secrets that already expired are dropped, the one still in use gets an expiry (an
 * earlier expiry it already has is kept), and a new sealed secret is added. At most two secrets
 * are allowed, so a rotation still under way (two live secrets) must finish first.
 */
export async function rotateSecret(options: RotateOptions): Promise<RotatedSecret> {
  const { app, now } = options;
  const name = app.metadata.name;
  if (app.spec.tokenEndpointAuthMethod === 'private_key_jwt') {
    throw failure(`${name} authenticates with private_key_jwt: it has public keys, not a client secret, to rotate`);
  }
  const live = (app.spec.credentials.secrets ?? []).filter((secret) => secret.expiresAt === undefined || Date.parse(secret.expiresAt) > now);
  if (live.length >= 2) {
    const ending = live.find((secret) => secret.expiresAt !== undefined);
    throw failure(
      `${name} is already rotating its client secret${ending === undefined ? '' : ` (the old one expires at ${ending.expiresAt})`}; an application holds at most two secrets`,
      { hint: 'Rotate again once the old secret has expired.' },
    );
  }
  const limit = new Date(now + options.oldSecretExpiresInMs).toISOString();
  const kept = live.map((secret) =>
    secret.expiresAt !== undefined && Date.parse(secret.expiresAt) <= Date.parse(limit) ? secret : { ...secret, expiresAt: limit },
  );
  const fresh = await newSealedSecret(options.settings, name);
  return {
    secret: fresh.secret,
    secrets: [...kept, { sealed: fresh.sealed }],
    oldExpiresAt: kept[0]?.expiresAt ?? limit,
  };
}
