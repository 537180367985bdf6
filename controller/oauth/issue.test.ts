import { describe, expect, it } from 'vitest';
import { uuidV7 } from './issue.ts';

describe('access token ids', () => {
  it('are RFC 9562 version 7 UUIDs carrying the time they were made', () => {
    const ms = Date.UTC(2026, 10, 29, 5, 0, 0, 123);
    const id = uuidV7(ms);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(ms);
  });

  it('sort in the order they were made, and differ within one millisecond', () => {
    const ms = Date.UTC(2026, 10, 29);
    const ids = [ms, ms + 1, ms + 255, ms + 256, ms + 86_400_000].map(uuidV7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1000 }, () => uuidV7(ms))).size).toBe(1000);
  });
});
