// Reading a publisher's words back from what Mergekey wrote: a decision comment's reason and an
// approval commit's comment, whatever the line endings, and nothing mistaken for them.
import { describe, expect, it } from 'vitest';
import { approvalComment, decisionText } from './decisions.ts';

describe('decisionText: the publisher’s words in a decision comment', () => {
  it.each([
    ['the portal’s comment', '<!-- mergekey:decision outcome=rejected by=pat -->\nRejected by **pat** in the Mergekey portal:\n\nNot now.\nAsk in June.', 'Not now.\nAsk in June.'],
    ['the CLI’s comment', '<!-- mergekey:decision outcome=rejected -->\nRejected by @pat:\n\nUse billing.', 'Use billing.'],
    ['with Windows line endings', '<!-- mergekey:decision outcome=rejected -->\r\nRejected by @pat:\r\n\r\nUse billing.\r\n', 'Use billing.'],
    ['a marker with no words after it', '<!-- mergekey:decision outcome=rejected by=pat -->\nRejected by **pat** in the Mergekey portal:', ''],
    ['anyone else’s comment: all of it', '  Closing: the scope is for payments only.  ', 'Closing: the scope is for payments only.'],
  ])('%s', (_what, body, words) => {
    expect(decisionText(body)).toBe(words);
  });
});

describe('approvalComment: the comment in an approval’s merge commit', () => {
  it.each([
    ['a portal approval with a comment', 'Approved by pat in the Mergekey portal.\n\nWeekly is fine.\n\nTell finance.\n\nApproved-by: pat\n', 'Weekly is fine.\n\nTell finance.'],
    ['a portal approval without one', 'Approved by pat in the Mergekey portal.\n\nApproved-by: pat\n', undefined],
    ['a CLI approval with a comment', 'Approved by @pat with mergekey review approve.\n\nWelcome.\n', 'Welcome.'],
    ['a comment whose last line looks like another trailer stays whole', 'Approved by @pat with mergekey review approve.\n\nNote: fine by finance.\n', 'Note: fine by finance.'],
    ['a merge made on GitHub: no comment of Mergekey’s', 'Merge pull request #5 from acme/mergekey/edit-billing-a1b2c3\n\nEdit application billing\n', undefined],
  ])('%s', (_what, body, comment) => {
    expect(approvalComment(body)).toBe(comment);
  });
});
