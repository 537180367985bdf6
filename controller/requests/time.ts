// Times as the CLI, its JSON and the check's plan text show them: ISO 8601 in UTC to the second
// (`2026-12-07T12:00:00Z`), whatever precision the source kept (a manifest's expiresAt may carry
// milliseconds). The portal shows the same moments readably, with this value in `<time datetime>`.
export function isoTime(value: string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
