import { describe, expect, it } from 'vitest';
import { escapeHtml, html, inlineMarkdown, safeUrl, SafeHtml } from './html.ts';

describe('escaping', () => {
  it('escapes the five characters that matter in text and quoted attributes', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
  });

  it('escapes every interpolated value, in text and in attributes', () => {
    const name = '"><img src=x onerror=alert(1)>';
    const page = html`<a href="/portal/apps/${name}" title="${name}">${name}</a>`.value;
    expect(page).not.toContain('<img');
    expect(page).toBe(
      '<a href="/portal/apps/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</a>',
    );
  });

  it('keeps nested templates and arrays of them as markup, and renders nothing for absent values', () => {
    const items = ['a<b', 'c'].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}</ul>${undefined}${null}${false}`.value).toBe('<ul><li>a&lt;b</li><li>c</li></ul>');
    expect(html`${0}`.value).toBe('0');
  });

  it('does not trust a string that looks like markup, only SafeHtml', () => {
    expect(html`${'<b>x</b>'}`.value).toBe('&lt;b&gt;x&lt;/b&gt;');
    expect(html`${new SafeHtml('<b>x</b>')}`.value).toBe('<b>x</b>');
  });

  it('lets only http(s) URLs into links', () => {
    expect(safeUrl('https://github.com/acme/manifests/pull/3')).toBe('https://github.com/acme/manifests/pull/3');
    expect(safeUrl('javascript:alert(1)')).toBe('#');
    expect(safeUrl('data:text/html,x')).toBe('#');
    expect(safeUrl(undefined)).toBe('#');
  });

  it('renders the check plan’s code spans and bold, escaping their content', () => {
    expect(inlineMarkdown('Scopes added: `invoices:<read>`; **tokens** may carry them.').value).toBe(
      'Scopes added: <code>invoices:&lt;read&gt;</code>; <strong>tokens</strong> may carry them.',
    );
  });
});
