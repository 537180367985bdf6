import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateClientId, generateClientSecret } from './generate.ts';

const schema = JSON.parse(readFileSync(new URL('../../schemas/application.schema.json', import.meta.url), 'utf8')) as {
  $defs: { applicationSpec: { properties: { clientId: { pattern: string; minLength: number; maxLength: number } } } };
};
const clientIdRule = schema.$defs.applicationSpec.properties.clientId;

describe('generateClientId', () => {
  it('makes ids the Application schema accepts, unambiguous to read, and distinct', () => {
    const ids = Array.from({ length: 2000 }, generateClientId);
    for (const id of ids) {
      expect(id).toMatch(new RegExp(clientIdRule.pattern));
      expect(id.length).toBeGreaterThanOrEqual(clientIdRule.minLength);
      expect(id.length).toBeLessThanOrEqual(clientIdRule.maxLength);
      expect(id).toMatch(/^mk-[0-9a-hjkmnp-tv-z]{26}$/);
    }
    expect(new Set(ids).size).toBe(ids.length);
    // All 32 symbols occur in the first 25 positions (the 26th carries only 3 bits).
    expect(new Set(ids.flatMap((id) => [...id.slice(3, 28)])).size).toBe(32);
  });
});

describe('generateClientSecret', () => {
  it('carries 256 random bits in base64url', () => {
    const secrets = Array.from({ length: 100 }, generateClientSecret);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });
});
