// RFC 6749 section 4.3: the resource owner's user name and password, exchanged by a client the
// owner trusts. RFC 9700 section 2.4 says it "MUST NOT be used"; it is here because the product
// brief asks for it, off unless an application lists it, and throttled per (user, client, source
// address): see `handle`.
import { passwordMatches, hashPassword } from '../../sealing/hashes.ts';
import { settleGrantMarks } from '../api-state.ts';
import { invalidGrant, slowDown } from '../errors.ts';
import { mintAccessToken, mintRefreshToken, recordAccessToken, newFamilyId, seconds, tokenResponse, userSubject, type TokenResponse } from '../issue.ts';
import { grantScopes, parseScope } from '../scopes.ts';
import { retryAfterSeconds } from '../throttle.ts';
import { leaveUserMarkSecond } from '../user-state.ts';
import type { GrantRequest } from './types.ts';

export const grantType = 'password';

export const parameters = { required: ['username', 'password'], optional: ['scope'] } as const;

// User names are DNS labels of at most 63 characters (common.schema.json); a longer one is no
// user's, and is never used as a store key.
const MAX_USERNAME_LENGTH = 63;

// Checked when the user does not exist or has no password, so that answer takes as long as a
// wrong password does.
let decoy: Promise<string> | undefined;

/** The scopes a `scope` parameter may grant of `held` (all held when absent); malformed ones are refused later. */
function requestedOrHeld(value: string | undefined, held: readonly string[]): readonly string[] {
  if (value === undefined) return held;
  const requested = new Set(value.split(' '));
  return held.filter((scope) => requested.has(scope));
}

export async function handle({ ctx, client: { app }, plan, params, request }: GrantRequest): Promise<TokenResponse> {
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

  // A user restored, or given a new password, this very second: tokens of that second count as
  // issued before the mark, so the first ones after it wait the second out.
  if (known) await leaveUserMarkSecond(ctx.tokens, username, ctx.now());
  // So for an Api restored this second, or withdrawn since the scope map was read (api-state.ts).
  // The scopes are granted after the password check; those asked for (or all the application
  // holds) are a superset of them.
  await settleGrantMarks(ctx, requestedOrHeld(params.get('scope'), app.spec.scopes));
  // The tokens are dated here, before the password check, which takes a while: whatever ends them
  // while it runs (a reconcile that deactivates the application, say) marks this second or a
  // later one, and so covers them; dated after the check, they could postdate the mark and come
  // back when the application is reactivated.
  const now = seconds(ctx.now());
  // The user's mark, read with the record (one read snapshot): checked again after the password.
  const mark = known ? ctx.tokens.userRevokedBefore(username) : undefined;
  const user = known ? ctx.config.user(username) : undefined;
  const hash = user?.passwordHash ?? await (decoy ??= hashPassword(newFamilyId()));
  if (!(await passwordMatches(password, hash)) || user?.passwordHash === undefined) {
    passwordFailures.hit(throttleKey, ctx.now(), perMinute);
    throw invalidGrant('the resource owner credentials are invalid');
  }
  // The password was checked against the record read above. A reconcile that removed the user or
  // changed its password meanwhile moved the mark: refuse rather than sign in with a password no
  // longer in force. Not counted as a failure: the password was right when it was checked.
  if (ctx.tokens.userRevokedBefore(user.name) !== mark) throw invalidGrant('the resource owner credentials are invalid');

  const published = ctx.slow.published();
  const scopes = grantScopes(parseScope(params.get('scope')), app.spec.scopes, published);
  const sub = userSubject(user.name);
  if (!app.spec.grantTypes.includes('refresh_token')) {
    const access = await mintAccessToken(ctx, app, { sub, scopes }, published, plan, now);
    recordAccessToken(ctx, app, access.record);
    return tokenResponse(access);
  }
  // A refresh token starts a family: every token rotated from it, and their access tokens.
  const family = newFamilyId();
  const access = await mintAccessToken(ctx, app, { sub, scopes, family }, published, plan, now);
  const refresh = mintRefreshToken(app, { sub, scopes, family }, plan, now);
  await ctx.tokens.startFamily(app.name, {
    v: 1, id: family, sub, iat: now, exp: Math.max(access.record.exp, refresh.record.exp),
  }, refresh.record, access.record);
  return tokenResponse(access, refresh);
}
