// The HTTP Basic authorization header as OAuth uses it (RFC 6749 section 2.3.1 and Appendix B):
// "The client identifier is encoded using the application/x-www-form-urlencoded encoding
// algorithm ... and the encoded value is used as the username; the client password is encoded
// using the same algorithm and used as the password."
import { invalidRequest } from './errors.ts';
import { decodeFormComponent } from './form.ts';

export interface BasicCredentials {
  clientId: string;
  secret: string;
}

// Canonical base64 (RFC 4648 section 4) with its padding: anything else is a malformed header.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Returns undefined when there is no Authorization header; throws invalid_request when it is malformed. */
export function parseBasicAuthorization(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined;
  const match = /^([A-Za-z]+) +(\S+) *$/.exec(header);
  if (match === null) throw invalidRequest('malformed Authorization header');
  if (match[1]!.toLowerCase() !== 'basic') throw invalidRequest('the Authorization header must use the Basic scheme');
  const token = match[2]!;
  if (!BASE64.test(token)) throw invalidRequest('malformed Basic credentials: not base64');
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(token, 'base64'));
  } catch {
    throw invalidRequest('malformed Basic credentials: not UTF-8');
  }
  const colon = decoded.indexOf(':');
  if (colon === -1) throw invalidRequest('malformed Basic credentials: no colon between client id and secret');
  const clientId = decodeFormComponent(decoded.slice(0, colon));
  const secret = decodeFormComponent(decoded.slice(colon + 1));
  if (clientId === '') throw invalidRequest('malformed Basic credentials: empty client id');
  return { clientId, secret };
}

/** The header a client sends: the encoding `parseBasicAuthorization` reverses (tests and the CLI use it). */
export function basicAuthorization(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`, 'utf8').toString('base64')}`;
}
