// Configuration that changes only when a commit is merged, and where a second's delay harms no
// one: repository settings, plans, Apis and the scope → audience map derived from them. Reading
// and decoding them from LMDB on every token request cost about a fifth of the token handler's
// CPU (measured calling the handler in a loop: ~105 µs → ~85 µs per token), so each process
// keeps them for `configCacheTtl`.
//
// Applications are not cached: their state and secrets are read on every request, so a
// deactivation or a revoked secret takes effect at once. The Apis are read together with the
// store's cut-off generation (one snapshot), which the tokens granted from them record
// (liveness.ts): a withdrawal the kept map predates ends those tokens, and the grants reload the
// map rather than grant what was withdrawn.
import type { ApiRecord, PlanRecord, SettingsRecord } from '../store/records.ts';
import type { OAuthConfig } from './deps.ts';
import { scopeAudiences, type ScopeAudiences } from './scopes.ts';

/** Scope → audience, and the cut-off generation it was read at. */
export interface ScopeMap {
  published: ScopeAudiences;
  generation: number;
}

export class SlowConfig {
  readonly #config: OAuthConfig;
  readonly #cutOffGeneration: () => number;
  readonly #now: () => number;
  readonly #ttl: number;
  #until = -Infinity;
  #settings: { value: SettingsRecord | undefined } | undefined;
  #plans = new Map<string, PlanRecord | undefined>();
  #apis: ApiRecord[] | undefined;
  #generation = 0;
  #published: ScopeAudiences | undefined;

  constructor(config: OAuthConfig, cutOffGeneration: () => number, now: () => number, ttl: number) {
    this.#config = config;
    this.#cutOffGeneration = cutOffGeneration;
    this.#now = now;
    this.#ttl = ttl;
  }

  settings(): SettingsRecord | undefined {
    this.#expire();
    this.#settings ??= { value: this.#config.settings() };
    return this.#settings.value;
  }

  plan(name: string): PlanRecord | undefined {
    this.#expire();
    if (!this.#plans.has(name)) this.#plans.set(name, this.#config.plan(name));
    return this.#plans.get(name);
  }

  apis(): ApiRecord[] {
    this.#expire();
    if (this.#apis === undefined) {
      // In one synchronous step, so from one LMDB read snapshot: the generation the Apis were read at.
      this.#generation = this.#cutOffGeneration();
      this.#apis = this.#config.apis();
    }
    return this.#apis;
  }

  /** Scope → the audience of the Api publishing it. */
  published(): ScopeAudiences {
    this.#expire();
    return this.#published ??= scopeAudiences(this.apis());
  }

  /** The scope map with the cut-off generation its Apis were read at, for a grant to date its tokens by. */
  scopeMap(): ScopeMap {
    const published = this.published();
    return { published, generation: this.#generation };
  }

  /** Forgets what is kept: the next read comes from the store. */
  reload(): void {
    this.#until = -Infinity;
    this.#expire();
  }

  #expire(): void {
    const now = this.#now();
    if (now < this.#until) return;
    this.#until = now + this.#ttl;
    this.#settings = undefined;
    this.#plans = new Map();
    this.#apis = undefined;
    this.#published = undefined;
  }
}
