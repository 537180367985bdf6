// The plan an application's tokens follow: its own, else the repository's default plan.
import planSchema from '../../schemas/plan.schema.json' with { type: 'json' };
import { MAX_ACCESS_TOKEN_TTL_SECONDS, MAX_REFRESH_TOKEN_TTL_SECONDS } from '../manifests/limits.ts';
import type { ApplicationRecord, PlanRecord } from '../store/records.ts';
import type { SlowConfig } from './slow-config.ts';

export interface EffectivePlan {
  /** Access token lifetime, seconds. */
  accessTokenTtl: number;
  /** Refresh token lifetime, seconds. */
  refreshTokenTtl: number;
  tokenRequestsPerMinute: number;
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** Seconds in a schema `duration` such as `15m` or `30d`. */
export function durationSeconds(duration: string): number {
  const match = /^([1-9][0-9]{0,8})([smhd])$/.exec(duration);
  if (match === null) throw new Error(`not a duration: ${duration}`);
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

// When the plan named is missing (a manifest error the reconciler reports), tokens still follow
// the schema's defaults rather than failing every request of the application.
const defaults = planSchema.properties.spec.properties;
const SCHEMA_DEFAULTS: EffectivePlan = {
  accessTokenTtl: durationSeconds(defaults.accessTokenTtl.default),
  refreshTokenTtl: durationSeconds(defaults.refreshTokenTtl.default),
  tokenRequestsPerMinute: defaults.tokenRequestsPerMinute.default,
};

export function effectivePlan(record: PlanRecord | undefined): EffectivePlan {
  if (record === undefined) return SCHEMA_DEFAULTS;
  // Validation refuses longer lifetimes; a plan stored by an older controller is held to them too.
  return {
    accessTokenTtl: Math.min(durationSeconds(record.spec.accessTokenTtl), MAX_ACCESS_TOKEN_TTL_SECONDS),
    refreshTokenTtl: Math.min(durationSeconds(record.spec.refreshTokenTtl), MAX_REFRESH_TOKEN_TTL_SECONDS),
    tokenRequestsPerMinute: record.spec.tokenRequestsPerMinute,
  };
}

export function planOf(config: Pick<SlowConfig, 'settings' | 'plan'>, app: ApplicationRecord): EffectivePlan {
  const name = app.spec.plan ?? config.settings()?.spec.defaultPlan;
  return effectivePlan(name === undefined ? undefined : config.plan(name));
}
