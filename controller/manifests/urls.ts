// URLs a reviewer reads one way and a browser or HTTP client another. The schema checks that a
// redirect URI, the issuer or an audience is an absolute URI of the right scheme (RFC 3986); a
// browser parses it by the WHATWG URL Standard, which is more forgiving, so a URI the schema
// accepts can still send a user somewhere the reviewer did not see:
//
//   https://shop.example.com@evil.example/cb   the host is evil.example; the rest is a user name
//   https:///cb                                no host: a browser reads https://cb/
//   https://2130706433/cb, https://0x7f.1/cb   an IPv4 address in disguise: 127.0.0.1
//   https://shop.example.com/a/../../cb        a browser removes the dot segments first
//
// RFC 9700 section 4.1.3 asks for exact redirect URI matching precisely so that what was
// registered is where the code goes; that only helps if the registered string is unambiguous.
// RFC 3986 section 3.2.1 deprecates a password in userinfo, and a user name before the host is
// the classic way to disguise a host (RFC 3986 section 7.6), so any userinfo is refused.

/** Why `text` is refused, or undefined when every reader finds the host and path written. */
export function ambiguousUrlProblem(text: string): string | undefined {
  // Characters RFC 3986 does not allow are the schema's to report (format: uri), once.
  if (/[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/.test(text)) return undefined;
  const written = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/.exec(text);
  // Not hierarchical (urn:..., mailto:...): nothing to mistake for a host. The schema decides.
  if (written === null) return undefined;
  const [, scheme, authority, path] = written as unknown as [string, string, string, string];
  if (!['http', 'https'].includes(scheme.toLowerCase())) return undefined;
  if (authority.includes('@')) {
    return `holds credentials or a user name before the host (${JSON.stringify(authority.slice(0, authority.lastIndexOf('@') + 1))}), which hide the real host from a reader: remove them`;
  }
  if (authority === '') return 'has no host after // (a browser would take the first path segment as the host)';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL a browser can open (a port above 65535, a character not allowed in a host...)';
  }
  const host = authority.replace(/:\d*$/, '').toLowerCase();
  if (url.hostname !== host) {
    return `names the host ${JSON.stringify(host)}, which a browser reads as ${JSON.stringify(url.hostname)}: write ${JSON.stringify(url.hostname)}`;
  }
  const port = /:(\d*)$/.exec(authority)?.[1];
  if (port !== undefined && port !== '' && String(Number(port)) !== port) {
    return `writes the port as ${JSON.stringify(port)}: write ${Number(port)}`;
  }
  if (path !== '' && url.pathname !== path) {
    return `has the path ${JSON.stringify(path)}, which a browser reads as ${JSON.stringify(url.pathname)}: write ${JSON.stringify(url.pathname)}`;
  }
  return undefined;
}
