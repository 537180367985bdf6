// What the CLI writes to a terminal is printable text: much of it comes from elsewhere (a pull
// request's title and diff, a reviewer's reason, a manifest's description, a GitHub error), and a
// control character in it would be obeyed by the terminal. An escape sequence could move the
// cursor up and erase lines another request's diff or the check's plan printed, hiding a change
// from the publisher who reads `mergekey review list`. Newlines and tabs stay; every other C0 or
// C1 control character, and DEL, is shown as a visible `\xNN` instead.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
