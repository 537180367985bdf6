// HTML by tagged template: every interpolated value is escaped unless it is already `SafeHtml`
// (the output of another `html` template), so a page cannot forget to escape. Attributes are
// always written in double quotes in the templates; escaping both quote characters keeps a value
// inside its attribute either way.

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** Markup that is already safe: built by `html`, or a constant of this module. */
export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

export type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** `html\`<p>${text}</p>\``: `text` is escaped; nested `html` results, arrays of them, and nothing (null, undefined, booleans) are not. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i += 1) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** A link target from outside (GitHub's pull request URL): only http(s), anything else becomes `#`. */
export function safeUrl(url: string | undefined): string {
  if (url === undefined || !/^https?:\/\//i.test(url) || !URL.canParse(url)) return '#';
  return url;
}

/**
 * One line of the check's Markdown (`describeChange`) as HTML: text in backticks becomes <code>,
 * `**bold**` becomes <strong>; everything is escaped first.
 */
export function inlineMarkdown(line: string): SafeHtml {
  const parts = line.split('`');
  return html`${parts.map((part, i) => (i % 2 === 1 ? html`<code>${part}</code>` : bold(part)))}`;
}

function bold(text: string): SafeHtml {
  const parts = text.split('**');
  return html`${parts.map((part, i) => (i % 2 === 1 && i < parts.length - 1 ? html`<strong>${part}</strong>` : part))}`;
}
