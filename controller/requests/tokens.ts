// How many live tokens an application holds, from the token server's listing
// (GET /api/v1/apps/NAME/tokens). The listing answers only to the application's own client
// credentials, so this is possible only where they are at hand (the developer's credentials file).
export type TokenCount = { count: number } | { unknown: string };

const PAGE = 100;
const MAX_PAGES = 1000;

/** RFC 6749 section 2.3.1: client id and secret are form-urlencoded before Basic encoding. */
function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

export async function countActiveTokens(server: string, app: string, clientId: string, secret: string): Promise<TokenCount> {
  let count = 0;
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const url = new URL(`api/v1/apps/${encodeURIComponent(app)}/tokens`, server.endsWith('/') ? server : `${server}/`);
    url.searchParams.set('limit', String(PAGE));
    if (after !== undefined) url.searchParams.set('after', after);
    let response: Response;
    try {
      response = await fetch(url, { headers: { authorization: basic(clientId, secret), accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      return { unknown: `the token server at ${server} could not be reached (${(error as Error).message})` };
    }
    if (response.status === 401 || response.status === 403) {
      return { unknown: `the token server refused the saved credentials of ${app} (HTTP ${response.status})` };
    }
    if (!response.ok) return { unknown: `the token server answered HTTP ${response.status} to the token listing` };
    const body = (await response.json()) as { tokens?: unknown[]; next?: string };
    count += Array.isArray(body.tokens) ? body.tokens.length : 0;
    if (body.next === undefined) return { count };
    after = body.next;
  }
  return { unknown: 'the token listing did not end' };
}
