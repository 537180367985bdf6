// What publishers review: the open pull requests that are requests or publisher changes, each
// with what it asks and the repo's check verdict on its latest commit.
import type { PullRequest, RequestsBackend } from '../../controller/github/index.ts';
import { isManifestLocation, PUBLISHER_LABEL, toRequestSummary, type RequestKind } from '../../controller/lifecycle/index.ts';
import { failure } from '../errors.ts';
import { readCheckVerdict, type CheckVerdict } from './check-result.ts';

export interface ReviewItem {
  number: number;
  /** A developer's request, a publisher change, or a manifest change nobody classified yet. */
  kind: RequestKind | 'publisher' | 'unclassified';
  app?: string;
  title: string;
  author: string;
  openedAt: string;
  headSha: string;
  url: string;
  check: CheckVerdict;
}

/** The item one open pull request is, or undefined when it changes no manifest. */
export async function reviewItem(backend: RequestsBackend, pull: PullRequest): Promise<ReviewItem | undefined> {
  let kind: ReviewItem['kind'] | undefined;
  let app: string | undefined;
  const summary = toRequestSummary(pull);
  if (summary !== undefined) {
    kind = summary.kind;
    app = summary.app;
  } else if (pull.labels.includes(PUBLISHER_LABEL)) {
    kind = 'publisher';
  } else {
    const files = await backend.listChangedFiles(pull.number);
    const fromFiles = toRequestSummary(pull, files.map((file) => file.path));
    if (fromFiles !== undefined) {
      kind = fromFiles.kind;
      app = fromFiles.app;
    } else if (files.some((file) => isManifestLocation(file.path) || (file.previousPath !== undefined && isManifestLocation(file.previousPath)))) {
      kind = 'unclassified';
    }
  }
  if (kind === undefined) return undefined;
  return {
    number: pull.number,
    kind,
    ...(app === undefined ? {} : { app }),
    title: pull.title,
    author: pull.author,
    openedAt: pull.createdAt,
    headSha: pull.headSha,
    url: pull.htmlUrl,
    check: await readCheckVerdict(backend, pull.number, pull.headSha),
  };
}

/** An open pull request, or a failure saying why it cannot be reviewed. */
export async function openPull(backend: RequestsBackend, number: number): Promise<PullRequest> {
  const pull = await backend.getPullRequest(number);
  if (pull.state !== 'open') {
    throw failure(`pull request #${number} is already ${pull.merged ? `merged${pull.mergedBy ? ` (by ${pull.mergedBy})` : ''}` : `closed${pull.closedBy ? ` (by ${pull.closedBy})` : ''}`}`);
  }
  return pull;
}
