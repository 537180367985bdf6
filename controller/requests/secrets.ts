// Client secrets for requests: generated from the OS CSPRNG, sealed to the controller's key in
// mergekey.yaml (bound to the application), and handed back to be shown once. Keeping them is the
// front end's business: the CLI saves them in the developer's credentials file
// (cli/request-credentials.ts), the portal keeps them nowhere.
import { isoTime } from './time.ts';
import type { Application, ClientSecret, Settings } from '../manifests/types.generated.ts';
import { SealingError } from '../sealing/errors.ts';
import { generateClientSecret } from '../sealing/generate.ts';
import { seal, sealingPublicKey, type SealingPublicJwk } from '../sealing/seal.ts';
import { RequestError } from './errors.ts';

/** Why nothing can be sealed, and what to do about it; `mergekey seal` says the same. */
export const NO_SEALING_KEY = 'mergekey.yaml has no sealingKey: run `mergekey keys public --data …` on the controller and put it there';

export interface NewSecret {
  secret: string;
  sealed: string;
}

/** A fresh secret sealed for `Application/<name>`. Throws `no-sealing-key` when main has no sealing key. */
export async function newSealedSecret(settings: Settings | undefined, name: string): Promise<NewSecret> {
  const publicJwk = await sealingKeyOf(settings, name);
  const secret = generateClientSecret();
  return { secret, sealed: await seal(publicJwk, { kind: 'Application', name }, secret) };
}

/** The public sealing key of main's mergekey.yaml. */
async function sealingKeyOf(settings: Settings | undefined, app: string): Promise<SealingPublicJwk> {
  if (settings === undefined) throw new RequestError('no-sealing-key', { app }, `mergekey.yaml is missing or invalid on the main branch; ${NO_SEALING_KEY}`);
  const jwk = settings.spec.sealingKey;
  if (jwk === undefined) throw new RequestError('no-sealing-key', { app }, NO_SEALING_KEY);
  try {
    return await sealingPublicKey(jwk);
  } catch (error) {
    if (error instanceof SealingError) throw new RequestError('sealing-failed', { app }, error.message, { cause: error });
    throw error;
  }
}

export interface RotatedSecret {
  /** The new secret, shown once. */
  secret: string;
  /** The application's secrets after the rotation: the current one with its expiry, then the new one. */
  secrets: ClientSecret[];
  /** When the current secret stops working (RFC 3339). */
  oldExpiresAt: string;
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
    throw new RequestError('no-secret-to-rotate', { app: name }, `${name} authenticates with private_key_jwt: it has public keys, not a client secret, to rotate`);
  }
  if (app.spec.tokenEndpointAuthMethod === 'none') {
    throw new RequestError('no-secret-to-rotate', { app: name }, `${name} is a public client (tokenEndpointAuthMethod none): it has no client secret to rotate`);
  }
  const live = (app.spec.credentials?.secrets ?? []).filter((secret) => secret.expiresAt === undefined || Date.parse(secret.expiresAt) > now);
  if (live.length >= 2) {
    const ending = live.find((secret) => secret.expiresAt !== undefined)?.expiresAt;
    throw new RequestError(
      'rotation-in-progress',
      { app: name },
      `${name} is already rotating its client secret${ending === undefined ? '' : ` (the old one expires at ${isoTime(ending)})`}; an application holds at most two secrets`,
      { hint: 'Rotate again once the old secret has expired.' },
    );
  }
  const limit = isoTime(new Date(now + options.oldSecretExpiresInMs).toISOString());
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
