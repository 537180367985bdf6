import { expect, it } from 'vitest';
import { isoTime } from './time.ts';

it('shows a moment as ISO 8601 in UTC to the second, whatever the source kept; anything else as it is', () => {
  expect(isoTime('2026-12-07T12:00:00.000Z')).toBe('2026-12-07T12:00:00Z');
  expect(isoTime('2026-12-07T12:00:00Z')).toBe('2026-12-07T12:00:00Z');
  expect(isoTime('2026-12-07T13:00:00+01:00')).toBe('2026-12-07T12:00:00Z');
  expect(isoTime('2026-12-07T12:00:00.999Z')).toBe('2026-12-07T12:00:00Z');
  expect(isoTime('soon')).toBe('soon');
});
