// Remembered consents as the portal uses them: whether one covers an authorization request,
// remembering one, a user's list, and withdrawing one together with every token the application
// holds for the user. The records are the store's (`../store/consents.ts`); the tokens are read
// and revoked through token state, as the Active Access Tokens section does (tokens.ts).
import type { AuthorizationCodes } from '../store/authorization-codes.ts';
import type { ConsentRecord, Consents } from '../store/consents.ts';
import type { CutOffs, TokenState } from '../store/token-state.ts';

const PAGE = 500;

/**
 * Whether `consent` includes every scope of `scopes`: a subset is covered, anything more asks
 * again. A first-party sign-in's record covers nothing: the person was never asked.
 */
export function coveredBy(consent: ConsentRecord | undefined, scopes: readonly string[]): boolean {
  return consent !== undefined && consent.firstParty !== true && scopes.every((scope) => consent.scopes.includes(scope));
}

export class PortalConsents {
  readonly #consents: Consents;
  readonly #codes: Pick<AuthorizationCodes, 'forgetUnredeemed'>;
  readonly #tokens: TokenState;
  readonly #cuts: Pick<CutOffs, 'user' | 'generation'>;
  readonly #now: () => number;

  constructor(options: { consents: Consents; codes: Pick<AuthorizationCodes, 'forgetUnredeemed'>; tokens: TokenState; now: () => number }) {
    this.#consents = options.consents;
    this.#codes = options.codes;
    this.#tokens = options.tokens;
    this.#cuts = options.tokens.cutOffs;
    this.#now = options.now;
  }

  /**
   * The user's consent to `app`, unless the user was removed or given a new password since it was
   * given (then it is void, as the user's tokens and sessions are).
   */
  async get(user: string, app: string): Promise<ConsentRecord | undefined> {
    const record = await this.#consents.get(user, app);
    if (record === undefined) return undefined;
    const cut = this.#cuts.user(user);
    return cut !== undefined && cut.generation > record.userGeneration ? undefined : record;
  }

  /** Whether what `user` agreed to for `app` includes every scope of `scopes`: a subset is covered, anything more asks again. */
  async covers(user: string, app: string, scopes: readonly string[]): Promise<boolean> {
    return coveredBy(await this.get(user, app), scopes);
  }

  /**
   * Remembers that `user` agreed to exactly `scopes` for `app`, now; or, `firstParty`, that a
   * first-party application signed them in without asking (listed, to be withdrawn; covers nothing).
   */
  async remember(user: string, app: string, scopes: readonly string[], options: { firstParty?: boolean } = {}): Promise<void> {
    // Read before the write: the consent records the generation the user was known at.
    const generation = this.#cuts.generation();
    await this.#consents.grant(user, app, scopes, this.#now(), generation, options.firstParty === true);
  }

  /** The user's consents still in force, by application name. */
  async list(user: string): Promise<ConsentRecord[]> {
    const records = await this.#consents.list(user);
    const cut = this.#cuts.user(user);
    return cut === undefined ? records : records.filter((record) => cut.generation <= record.userGeneration);
  }

  /**
   * Withdraws the consent and ends every token `app` holds for the user: the codes not yet
   * exchanged, the refresh token
   * families (and so the access tokens rotated from them) and the access tokens whose subject is
   * `user:<name>`. Tokens first, then the record: should a revocation fail (a full disk), the
   * consent is still listed and withdrawing can be tried again; then the tokens once more, for
   * what a sign-in got while the record stood. False when there was no consent.
   *
   * Token records do not say which grant issued them, so a token the application got for this
   * user with the password grant ends too: withdrawing is "this application may no longer act for
   * me", which such a token does as well.
   */
  async withdraw(user: string, app: string): Promise<boolean> {
    if ((await this.#consents.get(user, app)) === undefined) return false;
    // Codes first: once they are forgotten no redemption can add a token the revocation misses.
    await this.#codes.forgetUnredeemed(`user:${user}`, app);
    await this.revokeTokens(user, app);
    const withdrawn = await this.#consents.withdraw(user, app);
    // Until the record went, the consent still covered requests: a sign-in in the meantime may
    // have been given a code, or exchanged one. Once more, now that nothing can give a new one.
    await this.#codes.forgetUnredeemed(`user:${user}`, app);
    await this.revokeTokens(user, app);
    return withdrawn;
  }

  /** Ends every token `app` holds for `user`; returns how many records were revoked. */
  async revokeTokens(user: string, app: string): Promise<number> {
    const subject = `user:${user}`;
    const now = Math.floor(this.#now() / 1000);
    // This process's access token records still gathering for their batched write (token-state.ts).
    await this.#tokens.flushAccessTokens();
    const families = new Set<string>();
    let revoked = 0;
    let after: string | undefined;
    do {
      const page = await this.#tokens.listTokens(app, { limit: PAGE, ...(after === undefined ? {} : { after }) });
      for (const record of page.refresh) if (record.sub === subject) families.add(record.family);
      for (const record of page.access) {
        if (record.sub !== subject) continue;
        if (record.family !== undefined) families.add(record.family);
        if (await this.#tokens.revokeAccessToken(app, record.jti, record.exp)) revoked += 1;
      }
      after = page.next;
    } while (after !== undefined);
    for (const family of families) if (await this.#tokens.revokeFamily(app, family, now)) revoked += 1;
    return revoked;
  }
}
