// Generate Token's answer between the POST that asked for it and the page that shows it once
// (post/redirect/get). The session keeps it sealed with AES-256-GCM under a fresh key that only the
// browser holds, in a cookie of a few minutes: the store (and so a backup of it) holds no usable
// token, as it holds refresh tokens only hashed, and a session cookie alone opens nothing.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { isGrantType, type GrantType } from '../manifests/vocabulary.ts';
import type { SealedAnswer } from '../store/sessions.ts';
import type { TokenFailure, TokenSuccess } from './tokens.ts';

/** How long the key cookie lives: the redirect is followed at once; this is only its upper bound. */
export const GENERATED_COOKIE_MS = 5 * 60_000;

export interface GeneratedAnswer {
  grant: GrantType;
  answer: TokenSuccess | TokenFailure;
}

/** The answer sealed for the session, and the key (base64url) for the browser's cookie. */
export function sealAnswer(app: string, generated: GeneratedAnswer): { sealed: SealedAnswer; key: string } {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  // The application's name is bound as associated data: an answer opens only on its own page.
  cipher.setAAD(Buffer.from(app, 'utf8'));
  const data = Buffer.concat([cipher.update(JSON.stringify(generated), 'utf8'), cipher.final()]);
  const sealed = [iv, cipher.getAuthTag(), data].map((part) => part.toString('base64url')).join('.');
  return { sealed: { app, sealed }, key: key.toString('base64url') };
}

/** The answer, when `key` opens what the session keeps for `app`; undefined otherwise. */
export function openAnswer(app: string, kept: SealedAnswer | undefined, key: string | undefined): GeneratedAnswer | undefined {
  if (kept === undefined || kept.app !== app || key === undefined) return undefined;
  const [iv, tag, data, ...rest] = kept.sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  const keyBytes = Buffer.from(key, 'base64url');
  if (iv === undefined || tag === undefined || data === undefined || rest.length > 0 || keyBytes.length !== 32 || iv.length !== 12 || tag.length !== 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyBytes, iv);
    decipher.setAAD(Buffer.from(app, 'utf8'));
    decipher.setAuthTag(tag);
    const opened = JSON.parse(Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8')) as GeneratedAnswer;
    return isGrantType(opened.grant) ? opened : undefined;
  } catch {
    return undefined;
  }
}
