// Reading the parameters of token, revocation and introspection requests, as RFC 6749 asks:
// form-encoded bodies only (section 4.4.2 "using the application/x-www-form-urlencoded format"),
// no parameter twice (section 3.2 "Request and response parameters MUST NOT be included more
// than once") and empty values treated as absent (section 3.1 "Parameters sent without a value
// MUST be treated as if they were omitted from the request").
import type { FastifyRequest } from 'fastify';
import { invalidRequest } from './errors.ts';

export type Params = ReadonlyMap<string, string>;

const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * Credentials and grants never travel in the URL (RFC 6749 section 2.3.1: client credentials
 * "MUST NOT be included in the request URI"); any query string on these endpoints is refused
 * rather than silently ignored, so a client that put a secret there learns it at once.
 */
export function rejectQueryParameters(request: FastifyRequest): void {
  if (request.url.includes('?')) throw invalidRequest('parameters must be sent in the request body, not in the URL');
}

export function requireFormBody(request: FastifyRequest): Params {
  if (!isFormContentType(request.headers['content-type'])) {
    throw invalidRequest(`the request body must be ${FORM_TYPE}`);
  }
  return parseForm(typeof request.body === 'string' ? request.body : '');
}

function isFormContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  if (type !== FORM_TYPE) return false;
  if (semicolon === -1) return true;
  // The form is UTF-8 (RFC 6749 Appendix B); a charset parameter may only confirm it.
  for (const parameter of header.slice(semicolon + 1).split(';')) {
    const [name, value] = parameter.split('=').map((part) => part.trim().toLowerCase());
    if (name === 'charset' && value !== 'utf-8' && value !== '"utf-8"') return false;
  }
  return true;
}

/** Parses `a=1&b=2`, refusing repeated names and malformed percent-encoding. */
export function parseForm(body: string): Params {
  const params = new Map<string, string>();
  const seen = new Set<string>();
  if (body === '') return params;
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decodeFormComponent(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : decodeFormComponent(pair.slice(equals + 1));
    if (seen.has(name)) throw invalidRequest(KNOWN_PARAMETERS.has(name) ? `parameter '${name}' is included more than once` : 'a parameter is included more than once');
    seen.add(name);
    if (value !== '') params.set(name, value);
  }
  return params;
}

/** application/x-www-form-urlencoded decoding of one name or value (`+` is a space). */
export function decodeFormComponent(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    throw invalidRequest('the request contains malformed percent-encoding');
  }
}

// Parameters these endpoints read: an error may name one of them; any other name is the caller's
// own input, and error descriptions describe rather than echo it.
const KNOWN_PARAMETERS: ReadonlySet<string> = new Set([
  'grant_type', 'scope', 'username', 'password', 'refresh_token', 'client_id', 'client_secret',
  'client_assertion', 'client_assertion_type', 'token', 'token_type_hint',
]);

export function requiredParam(params: Params, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw invalidRequest(`missing required parameter '${name}'`);
  return value;
}
