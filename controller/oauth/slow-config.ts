// Configuration that changes only when a commit is merged, and where a second's delay harms no
// one: repository settings, plans, Apis and the scope → audience map derived from them. Reading
// and decoding them from LMDB on every token request cost about a fifth of the token handler's
// CPU (measured calling the handler in a loop: ~105 µs → ~85 µs per token), so each process
// keeps them for `configCacheTtl`.
//
// Applications are not cached: their state and secrets are read on every request, so a
// deactivation or a revoked secret takes effect at once.
import type { ApiRecord, PlanRecord, SettingsRecord } from '../store/records.ts';
import type { OAuthConfig } from './deps.ts';
import { scopeAudiences, type ScopeAudiences } from './scopes.ts';

export class SlowConfig {
  readonly #config: OAuthConfig;
  readonly #now: () => number;
  readonly #ttl: number;
  #until = -Infinity;
  #settings: { value: SettingsRecord | undefined } | undefined;
  #plans = new Map<string, PlanRecord | undefined>();
  #apis: ApiRecord[] | undefined;
  #published: ScopeAudiences | undefined;

  constructor(config: OAuthConfig, now: () => number, ttl: number) {
    this.#config = config;
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
    return this.#apis ??= this.#config.apis();
  }

  /** Scope → the audience of the Api publishing it. */
  published(): ScopeAudiences {
    this.#expire();
    return this.#published ??= scopeAudiences(this.apis());
  }

  /**
   * When (milliseconds) what is kept now was read, or later: a change committed before this
   * moment is in it. An Api withdrawn later is not, so the grants reload (api-state.ts).
   */
  readSince(): number {
    this.#expire();
    return this.#until - this.#ttl;
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
