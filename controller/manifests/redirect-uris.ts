// Where an authorization code may be sent: the rules a redirect URI meets beyond its shape. The
// authorization endpoint compares a request's redirect_uri with this list exactly (RFC 9700
// section 4.1.3), except that the port of an http loopback URI may differ (RFC 8252 section 7.3:
// a native app listens on whatever port the OS gives it), so what is registered must be exactly
// where the code may go:
//
//   https://app.example.com/callback     a web app or SPA: https only (RFC 9700 section 2.6)
//   http://127.0.0.1/callback            a native app's loopback listener (RFC 8252 section 7.3)
//   http://[::1]:8400/callback           the same over IPv6; the port may vary at request time
//
// Refused: http on any other host (the code would cross the network in the clear), `localhost`
// (RFC 8252 section 8.3: NOT RECOMMENDED, a name a resolver or the hosts file may point
// elsewhere; the IP literal cannot be), wildcards (no pattern matching, ever), and what the
// schema and urls.ts already refuse: a fragment (RFC 6749 section 3.1.2), userinfo, ambiguity.
//
// Private-use URI schemes for native apps (RFC 8252 section 7.1, `com.example.app:/callback`)
// are not accepted: without a way to prove that the reverse domain is the developer's, any app
// on a device can claim the scheme, and the loopback redirect serves native apps already.
import { fullFormats } from 'ajv-formats/dist/formats.js';
import applicationSchema from '../../schemas/application.schema.json' with { type: 'json' };
import { FORMAT_WORDS, PATTERN_WORDS } from './schema-messages.ts';
import { ambiguousUrlProblem } from './urls.ts';

/** The loopback IP literals a native app's redirect URI may name with http (WHATWG host form). */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', '[::1]'];

const SHAPE = applicationSchema.$defs.applicationSpec.properties.redirectUris.items.pattern;

/**
 * Why `uri` cannot be a redirect URI, or undefined when it can: every check a manifest's
 * redirect URI meets (the schema's shape, an unambiguous host and path, then the rules here), in
 * words a form can show next to the field. The manifest's own validation reports the first two
 * through the schema and `rules.url-ambiguous`; this is for anyone else (the portal's form).
 */
export function redirectUriProblem(uri: string): string | undefined {
  if (!new RegExp(SHAPE, 'u').test(uri) || !URL.canParse(uri)) return PATTERN_WORDS[SHAPE];
  // The schema's `format: uri` (RFC 3986), which WHATWG's URL is more lenient than: a backslash,
  // for one, which a browser reads as a slash and the schema refuses.
  if (!(fullFormats.uri as (value: string) => boolean)(uri)) return FORMAT_WORDS.uri;
  const ambiguous = ambiguousUrlProblem(uri);
  if (ambiguous !== undefined) return ambiguous;
  return redirectUriRuleProblem(uri);
}

/**
 * The rules beyond shape and ambiguity, for a URI that passed both (an absolute http or https
 * URL a browser reads as written). The message follows the quoted URI.
 */
export function redirectUriRuleProblem(uri: string): string | undefined {
  if (uri.includes('*')) {
    return 'holds a wildcard (*): redirect URIs are compared exactly, never as patterns (RFC 9700 section 4.1.3), so list each URI in full';
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined; // not this rule's to report: the schema or urls.ts already did
  }
  if (url.protocol !== 'http:') return undefined;
  if (LOOPBACK_HOSTS.includes(url.hostname)) return undefined;
  if (url.hostname === 'localhost' || url.hostname.endsWith('.localhost')) {
    return `names ${JSON.stringify(url.hostname)}, which a resolver may send elsewhere (RFC 8252 section 8.3: NOT RECOMMENDED): use the loopback IP literal, http://127.0.0.1${url.port === "" ? "" : `:${url.port}`}${url.pathname}${url.search}`;
  }
  return 'uses http on a host that is not a loopback IP, so the code would cross the network in the clear: use https, or http://127.0.0.1 or http://[::1] for a native app on the same device (RFC 8252 section 7.3)';
}
