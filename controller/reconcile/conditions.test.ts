import { describe, expect, it } from 'vitest';
import { deriveReady, objectConditions, stamp, type ConditionInput } from './conditions.ts';
import type { PathOutcome } from './plan.ts';
import type { ReconcileProblem } from '../store/sync-records.ts';

const HEAD = 'b'.repeat(40);
const OLD = 'a'.repeat(40);
const problem: ReconcileProblem = { path: 'apps/x.yaml', line: 4, column: 9, message: 'bad value', code: 'schema.value' };

describe('objectConditions', () => {
  it.each<[string, PathOutcome, string[], string | undefined]>([
    ['applied', { path: 'apps/x.yaml', key: 'Application/x', outcome: { kind: 'applied', changed: true }, problems: [] }, ['Valid=True/Valid', 'Applied=True/Applied'], HEAD],
    ['kept', { path: 'apps/x.yaml', key: 'Application/x', outcome: { kind: 'kept', commit: OLD, deactivated: false }, problems: [problem] }, ['Valid=False/Invalid', 'Applied=False/KeptLastGood'], OLD],
    ['absent', { path: 'apps/x.yaml', key: 'Application/x', outcome: { kind: 'absent' }, problems: [problem] }, ['Valid=False/Invalid', 'Applied=False/NotApplied'], undefined],
    ['removed', { path: 'apps/x.yaml', key: 'Application/x', outcome: { kind: 'removed', deleted: false }, problems: [] }, ['Valid=True/Valid', 'Applied=True/Removed'], HEAD],
  ])('%s', (_name, outcome, expected, served) => {
    const result = objectConditions(outcome, HEAD);
    expect(result.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual(expected);
    expect(result.servedCommit).toBe(served);
  });

  it('puts every problem, with file:line:column, in the Valid message', () => {
    const result = objectConditions({ path: 'apps/x.yaml', key: 'Application/x', outcome: { kind: 'absent' }, problems: [problem, { ...problem, line: 7, message: 'also bad' }] }, HEAD);
    expect(result.conditions[0]!.message).toBe('apps/x.yaml:4:9: bad value; apps/x.yaml:7:9: also bad');
  });
});

describe('stamp and Ready', () => {
  const ok: ConditionInput = { type: 'Valid', status: 'True', reason: 'Valid', message: 'valid' };
  const bad: ConditionInput = { type: 'Valid', status: 'False', reason: 'Invalid', message: 'x' };

  it('derives Ready from the first failing condition', () => {
    expect(deriveReady([ok])).toEqual({ type: 'Ready', status: 'True', reason: 'Ready', message: 'up to date' });
    expect(deriveReady([ok, bad])).toEqual({ type: 'Ready', status: 'False', reason: 'Invalid', message: 'x' });
  });

  it('keeps the transition time while the status stays, and moves it when the status flips', () => {
    const first = stamp([bad], undefined, 't1');
    expect(first.map((c) => c.lastTransitionTime)).toEqual(['t1', 't1']);
    const same = stamp([{ ...bad, message: 'another message' }], first, 't2');
    expect(same.map((c) => c.lastTransitionTime)).toEqual(['t1', 't1']);
    const flipped = stamp([ok], same, 't3');
    expect(flipped.map((c) => c.lastTransitionTime)).toEqual(['t3', 't3']);
  });
});
