// The developer's saved credentials for requests: the credentials file must be usable before a
// secret is generated, a generated secret is kept once its request exists, and during a rotation
// both the secret in use and the pending one are remembered. The workflow hands secrets back
// (controller/requests/secrets.ts); keeping them is the CLI's.
import type { RequestSummary } from '../controller/requests/index.ts';
import { credentialsPath, findCredential, readCredentials, saveCredential, type StoredCredential } from './credentials.ts';

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
  /**
   * During a rotation: when `previousClientSecret` stops working once the rotation is merged (the
   * expiry the rotation gave it in the manifest). Until then it works whatever became of the request.
   */
  previousExpiresAt?: string;
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

/**
 * The saved secrets of an application in the order to try them against the token server, the one
 * that surely works first, without asking anyone: during a rotation the previous secret works
 * until the expiry the rotation gave it, whether the rotation is still awaiting approval (the
 * merged manifest holds only it), merged (it holds both) or rejected (only it, without expiry); so
 * the previous one first until then, the new one after. The other comes second, for the rare
 * answer that proves the order wrong (a rejected rotation past that expiry, clocks apart).
 */
export function secretsToTry(credential: RequestCredential, now: number): string[] {
  const { clientSecret, previousClientSecret, previousExpiresAt } = credential;
  if (clientSecret === undefined) return [];
  if (previousClientSecret === undefined || previousClientSecret === clientSecret) return [clientSecret];
  // No expiry recorded (a file written before it was), or one that does not parse: still works.
  const previousWorks = previousExpiresAt === undefined || !(Date.parse(previousExpiresAt) <= now);
  return previousWorks ? [previousClientSecret, clientSecret] : [clientSecret, previousClientSecret];
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
  credential: {
    clientId: string;
    clientSecret?: string | undefined;
    request: number;
    previousClientSecret?: string | undefined;
    previousExpiresAt?: string | undefined;
  },
): { savedTo?: string; warning?: string } {
  const path = credentialsPath(env);
  try {
    const entry: RequestCredential = {
      clientId: credential.clientId,
      ...(credential.clientSecret === undefined ? {} : { clientSecret: credential.clientSecret }),
      createdAt: new Date().toISOString(),
      request: credential.request,
      ...(credential.previousClientSecret === undefined ? {} : { previousClientSecret: credential.previousClientSecret }),
      ...(credential.previousClientSecret === undefined || credential.previousExpiresAt === undefined ? {} : { previousExpiresAt: credential.previousExpiresAt }),
    };
    saveCredential(path, issuer, app, entry, env);
    return { savedTo: path };
  } catch (error) {
    return { warning: `the credentials could not be saved (${(error as Error).message}); copy the secret now, it is not shown again` };
  }
}

