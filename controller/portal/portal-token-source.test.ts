// Generate token asks this server's token endpoint in process; the endpoint's throttles are keyed
// by source address, so the request it sees must come from the developer's address, not from the
// server's own loopback, which every portal user would otherwise share. Over real HTTP against a
// real `mergekey serve`, from several loopback addresses (127.0.0.x, as different clients).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortalWorld, Visitor, type PortalWorld } from '../../test/support/portal.ts';

let world: PortalWorld;
let secret: string;
let clientId: string;

/** Generate Token as a browser runs it: the POST, then the page it redirects to (post/redirect/get). */
async function generate(visitor: Visitor, form: Record<string, string>): Promise<{ status: number; html: string }> {
  const posted = await visitor.post('/portal/apps/billing/token', form);
  if (posted.status !== 303 || posted.location === null) return posted;
  return visitor.get(posted.location);
}

function bannerOf(html: string): string | undefined {
  return /<div class="banner banner--error" role="alert"><p>(.*?)<\/p><\/div>/s.exec(html)?.[1];
}

beforeAll(async () => {
  world = await startPortalWorld();
  const alice = new Visitor(world.url);
  await alice.signIn('alice');
  const created = await alice.post('/portal/apps', { _csrf: await alice.csrf('/portal/apps/new'), name: 'billing', description: 'Bills customers monthly.', grantType: 'client_credentials' });
  secret = /<code class="secret-value" id="client-secret"[^>]*>([^<]+)<\/code>/.exec(created.html)![1]!;
  clientId = /<dt>Client ID<\/dt><dd><code>([^<]+)<\/code>/.exec(created.html)![1]!;
  const pat = new Visitor(world.url);
  await pat.signIn('pat');
  expect((await pat.approve(1)).status).toBe(303);
  await world.sync();
});

afterAll(async () => {
  await world?.close();
});

describe('Generate token (RFC 6749 section 2.3: failed client authentications throttled per source)', () => {
  it('counts a developer’s wrong secrets against their own address, not against every portal user', async () => {
    const guesser = new Visitor(world.url, { from: '127.0.0.2' });
    await guesser.signIn('alice');
    const csrf = await guesser.csrf('/portal/apps/billing');
    const wrong = { _csrf: csrf, grant_type: 'client_credentials', client_secret: 'not-the-secret' };
    for (let i = 0; i < 20; i += 1) {
      const page = await generate(guesser, wrong);
      expect(page.status).toBe(200);
      expect(bannerOf(page.html)).toBe('<strong>No token:</strong> the token endpoint answered <code>invalid_client</code>: client authentication failed.');
    }
    // The allowance is 20 a minute, refilled steadily (one every 3 s): on a loaded machine the 20
    // posts above may outlast a refill, so the guesser is held within a few more, never 20 more.
    let throttled = await generate(guesser, wrong);
    for (let extra = 0; extra < 20 && bannerOf(throttled.html)?.includes('<code>invalid_client</code>'); extra += 1) {
      throttled = await generate(guesser, wrong);
    }
    expect(throttled.status).toBe(200);
    expect(bannerOf(throttled.html)).toBe('<strong>No token:</strong> the token endpoint answered <code>slow_down</code>: too many failed client authentications; retry later.');

    // The same application's owner from elsewhere, with the right secret, is not held by them.
    const owner = new Visitor(world.url, { from: '127.0.0.3' });
    await owner.signIn('alice');
    const page = await generate(owner, { _csrf: await owner.csrf('/portal/apps/billing'), grant_type: 'client_credentials', client_secret: secret });
    expect(bannerOf(page.html)).toBeUndefined();
    expect(page.status).toBe(200);
    expect(page.html).toContain('<strong>Access token generated</strong> with the');

    // Nor is the application itself, calling from the server's own host.
    const direct = await fetch(`${world.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(direct.status).toBe(200);
  });
});
