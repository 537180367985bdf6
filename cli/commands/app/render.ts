// How request commands print what they did.
import { REQUEST_LABELS } from '../../../controller/requests/index.ts';
import type { OpenedRequest } from '../../../controller/requests/open.ts';

const AFTER: Readonly<Record<OpenedRequest['kind'], (app: string) => string>> = {
  create: (app) => `A publisher approves it by merging; until then ${app} is awaiting approval.`,
  edit: (app) => `A publisher approves it by merging; until then ${app} keeps its current settings.`,
  deactivate: (app) => `A publisher approves it by merging; until then ${app} stays active.`,
  reactivate: (app) => `A publisher approves it by merging; until then ${app} stays inactive.`,
};

export function formatOpened(result: OpenedRequest): string {
  const lines = [
    `Opened ${result.kind} request #${result.number} for ${result.app}: ${result.url}`,
    `  ${result.title}`,
    `  branch ${result.branch}, label ${result.labels.includes(REQUEST_LABELS[result.kind]) ? REQUEST_LABELS[result.kind] : '(none)'}`,
    ...result.plan.lines.map((line) => `  - ${line.replaceAll('`', '')}`),
    AFTER[result.kind](result.app),
  ];
  if (result.warning !== undefined) lines.push(`Warning: ${result.warning}`);
  return lines.join('\n') + '\n';
}

