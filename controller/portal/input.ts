// What a request to the portal carries, read and checked before a route uses it: form bodies (a
// strict parser of its own), their fields, and the application names and request numbers in paths.
import type { FastifyRequest } from 'fastify';
import { NO_SUCH_REQUEST, PortalError } from './portal-errors.ts';

const NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/**
 * The longest `next` sign-in takes back (a path inside the portal). Room for an authorization
 * request going through sign-in (/portal/authorize with its redirect URI, state, nonce, PKCE
 * challenge and scopes, percent-encoded), not for a novel.
 */
export const MAX_NEXT_LENGTH = 2048;

/**
 * A browser's form body is ASCII: the application/x-www-form-urlencoded serializer (WHATWG URL)
 * percent-encodes every other byte, as UTF-8. Raw bytes above 0x7F come from a tool, and those
 * that are not UTF-8 reach here already replaced by U+FFFD (the body is decoded before it is
 * parsed); percent-encoded bytes that are not UTF-8 would decode to U+FFFD as well. Either way
 * two different passwords could arrive as one, so both are refused (as the token endpoint does).
 * A name given twice becomes a list, as with any form parser.
 */
export function parseForm(text: string): Record<string, string | string[]> {
  const unreadable = () => Object.assign(new Error('the form body is not ASCII with UTF-8 percent-encoding'), { statusCode: 400 });
  if (/[^\x00-\x7f]/.test(text)) throw unreadable();
  const decode = (raw: string) => {
    try {
      return decodeURIComponent(raw.replaceAll('+', ' '));
    } catch {
      throw unreadable();
    }
  };
  const fields: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decode(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : decode(pair.slice(equals + 1));
    const before = fields[name];
    fields[name] = before === undefined ? value : [...[before].flat(), value];
  }
  return fields;
}

/**
 * One query parameter as text: undefined when absent; a parameter given twice (which Fastify
 * parses as an array) is a bad request, never a value of another type in a route's hands.
 */
export function queryText(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  if (value === undefined || typeof value === 'string') return value;
  throw new PortalError(400, `The address gives ${name} more than once.`);
}

export function body(request: FastifyRequest): Record<string, unknown> {
  return request.body !== null && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
}

export function field(request: FastifyRequest, name: string): string | undefined {
  const value = body(request)[name];
  return typeof value === 'string' ? value : undefined;
}

export function list(request: FastifyRequest, name: string): string[] {
  const value = body(request)[name];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : typeof value === 'string' ? [value] : [];
}

export function appName(value: string): string {
  if (!NAME.test(value)) throw new PortalError(404, 'There is no such application.');
  return value;
}

export function pullNumber(value: string): number {
  const number = Number(value);
  if (!/^\d{1,9}$/.test(value) || number < 1) throw new PortalError(404, NO_SUCH_REQUEST);
  return number;
}
