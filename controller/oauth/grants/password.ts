// RFC 6749 section 4.3: the resource owner's user name and password, exchanged by a client the
// owner trusts. RFC 9700 section 2.4 says it "MUST NOT be used"; it is here because the product
// brief asks for it, off unless an application lists it, and throttled per (user, client, source
// address): see `handle`.
import { passwordMatches, hashPassword } from '../../sealing/hashes.ts';
import { invalidGrant, slowDown } from '../errors.ts';
import { mintAccessToken, mintRefreshToken, recordAccessToken, newFamilyId, seconds, tokenResponse, userSubject, type TokenResponse } from '../issue.ts';
import { currentScopeMap, userChangedSince } from '../liveness.ts';
import { grantScopes, parseScope } from '../scopes.ts';
import { retryAfterSeconds } from '../throttle.ts';
import type { GrantRequest } from './types.ts';

export const grantType = 'password';

export const parameters = { required: ['username', 'password'], optional: ['scope'] } as const;

// User names are DNS labels of at most 63 characters (common.schema.json); a longer one is no
// user's, and is never used as a store key.
const MAX_USERNAME_LENGTH = 63;

// Checked when the user does not exist or has no password, so that answer takes as long as a
// wrong password does.
let decoy: Promise<string> | undefined;

export async function handle({ ctx, client: { app, generation }, plan, params, request }: GrantRequest): Promise<TokenResponse> {
  const username = params.get('username')!;
  const password = params.get('password')!;
  // Per (user, client, source address): guessing one user's password through one application from
  // one place is slowed down, while the user keeps signing in through every other application and,
  // through this one, from wherever the application really runs. Keyed by (user, client) alone,
  // anyone holding the client's credentials (a public app's, or a leaked secret) could keep its
  // users out of it for good with a few wrong passwords a minute (OWASP Authentication Cheat
  // Sheet: account lockout as a denial of service). Across addresses the client's plan rate
  // (`tokenRequestsPerMinute`) still bounds the guesses one client makes.
  const known = username.length <= MAX_USERNAME_LENGTH;
  const throttleKey = `${username.slice(0, MAX_USERNAME_LENGTH + 1)}\u0000${app.name}\u0000${request.ip}`;
  const { passwordFailures } = ctx.throttles;
  const perMinute = ctx.options.passwordFailuresPerMinute;
  const wait = passwordFailures.wait(throttleKey, ctx.now(), perMinute);
  if (wait > 0) throw slowDown(retryAfterSeconds(wait), 'too many failed sign-in attempts for this user; retry later');

  // The tokens are dated here, before the password check, which takes a while. What ends them
  // while it runs (a reconcile that deactivates the application, say) is written at a later
  // generation than the records they were granted from, and so ends them too (liveness.ts).
  const now = seconds(ctx.now());
  // Read with the user record, in one synchronous step (one read snapshot): checked again after the password.
  const userGeneration = ctx.tokens.cutOffs.generation();
  const user = known ? ctx.config.user(username) : undefined;
  const hash = user?.passwordHash ?? await (decoy ??= hashPassword(newFamilyId()));
  if (!(await passwordMatches(password, hash)) || user?.passwordHash === undefined) {
    passwordFailures.hit(throttleKey, ctx.now(), perMinute);
    throw invalidGrant('the resource owner credentials are invalid');
  }
  // The password was checked against the record read above. A reconcile that removed the user or
  // changed its password meanwhile wrote a cut-off: refuse rather than sign in with a password no
  // longer in force. Not counted as a failure: the password was right when it was checked.
  if (userChangedSince(ctx.tokens.cutOffs, user.name, userGeneration)) throw invalidGrant('the resource owner credentials are invalid');

  const requested = parseScope(params.get('scope'));
  // An Api withdrawn since the kept scope map was read is granted from the store's state (liveness.ts).
  const { published, generation: grants } = currentScopeMap(ctx, grantScopes(requested, app.spec.scopes, ctx.slow.published()));
  const scopes = grantScopes(requested, app.spec.scopes, published);
  const sub = userSubject(user.name);
  const issuedUnder = { application: generation, grants, user: userGeneration };
  if (!app.spec.grantTypes.includes('refresh_token')) {
    const access = await mintAccessToken(ctx, app, { sub, scopes, issuedUnder }, published, plan, now);
    await recordAccessToken(ctx, app, access.record);
    return tokenResponse(access);
  }
  // A refresh token starts a family: every token rotated from it, and their access tokens.
  const family = newFamilyId();
  const access = await mintAccessToken(ctx, app, { sub, scopes, family, issuedUnder }, published, plan, now);
  const refresh = mintRefreshToken(app, { sub, scopes, family, issuedUnder }, plan, now);
  await ctx.tokens.startFamily(app.name, {
    v: 1, id: family, sub, iat: now, exp: Math.max(access.record.exp, refresh.record.exp),
  }, refresh.record, access.record);
  return tokenResponse(access, refresh);
}
