// A per-client limit on presenting tokens that turn out to be nothing: introspections answered
// `{"active": false}` and revocations that found nothing to revoke. RFC 7662 section 4: "the
// authorization server ... SHOULD use rate limiting or other means to prevent attackers from
// guessing valid tokens"; RFC 7009 section 5 asks the same for revocation. Both endpoints share
// one count per client, so spreading the guesses over the two gains nothing.
//
// Only misses count: a resource server that introspects live tokens is never slowed, however
// many; past the limit the caller is refused before its token is looked at, so a lucky guess
// while throttled learns nothing either.
import type { OAuthContext } from './context.ts';
import { slowDown } from './errors.ts';
import { retryAfterSeconds } from './throttle.ts';

/** Throws 429 slow_down while the client's misses are over the limit; `key`: client-auth.ts `allowanceKey`. */
export function checkTokenMisses(ctx: OAuthContext, key: string): void {
  const wait = ctx.throttles.inactiveTokens.wait(key, ctx.now(), ctx.options.inactiveTokensPerMinute);
  if (wait > 0) throw slowDown(retryAfterSeconds(wait), 'too many inactive or unknown tokens presented by this client; retry later');
}

/** Counts one token presented by the client that was inactive or unknown. */
export function countTokenMiss(ctx: OAuthContext, key: string): void {
  ctx.throttles.inactiveTokens.hit(key, ctx.now(), ctx.options.inactiveTokensPerMinute);
}
