// The stand-in's state: users, repositories and what happens on them. Git content lives in the
// bare repository; everything GitHub keeps beside git (pull requests, labels, comments, reviews,
// statuses) lives here, in memory, for the life of one stand-in.
import type { BareRepository } from './git.ts';

/** GitHub's repository roles, weakest first. */
export const PERMISSIONS = ['read', 'triage', 'write', 'maintain', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export function atLeast(held: Permission | undefined, needed: Permission): boolean {
  return held !== undefined && PERMISSIONS.indexOf(held) >= PERMISSIONS.indexOf(needed);
}

export interface UserRecord {
  id: number;
  login: string;
  /** Undefined for accounts that only own repositories (organisations). */
  token: string | undefined;
  type: 'User' | 'Organization';
  name: string | null;
  email: string | null;
  createdAt: string;
}

export interface LabelRecord {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface ReviewRecord {
  id: number;
  author: string;
  body: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
  commitId: string;
  submittedAt: string;
}

export interface PullRecord {
  id: number;
  number: number;
  title: string;
  body: string | null;
  author: string;
  state: 'open' | 'closed';
  draft: boolean;
  headRef: string;
  /** The head branch's commit; follows pushes while the pull request is open. */
  headSha: string;
  baseRef: string;
  /** The base branch's commit as of the last look while open; frozen once closed. */
  baseSha: string;
  labels: string[];
  maintainerCanModify: boolean;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  closedBy: string | null;
  mergedAt: string | null;
  mergedBy: string | null;
  mergeCommitSha: string | null;
  reviews: ReviewRecord[];
}

export interface CommentRecord {
  id: number;
  issueNumber: number;
  author: string;
  body: string;
  createdAt: string;
  updatedAt: string;
}

export interface StatusRecord {
  id: number;
  sha: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  targetUrl: string | null;
  description: string | null;
  context: string;
  creator: string;
  createdAt: string;
  updatedAt: string;
}

export type MergeMethod = 'merge' | 'squash' | 'rebase';

export interface RepoRecord {
  id: number;
  owner: string;
  name: string;
  git: BareRepository;
  defaultBranch: string;
  /** By lower-cased login. The owner is admin. */
  permissions: Map<string, Permission>;
  /** Branch protection on the default branch: approving reviews (by writers) needed to merge. */
  requiredApprovingReviews: number;
  /**
   * Branch protection's `restrictions`, by branch: the lower-cased logins that may push to it, and
   * so merge pull requests into it. A branch not here is not restricted.
   */
  pushRestrictions: Map<string, ReadonlySet<string>>;
  mergeMethods: ReadonlySet<MergeMethod>;
  createdAt: string;
  /** By lower-cased name: GitHub label names are case-insensitive. */
  labels: Map<string, LabelRecord>;
  pulls: PullRecord[];
  comments: CommentRecord[];
  statuses: StatusRecord[];
}

export class StandInState {
  private nextId = 1000;
  readonly users = new Map<string, UserRecord>();
  readonly repos = new Map<string, RepoRecord>();

  newId(): number {
    this.nextId += 1;
    return this.nextId;
  }

  /** The last id handed out, so that a forge started again from saved state goes on after it. */
  lastId(): number {
    return this.nextId;
  }

  /** Goes on after `id` (never back). */
  continueAfter(id: number): void {
    this.nextId = Math.max(this.nextId, id);
  }

  user(login: string): UserRecord | undefined {
    return this.users.get(login.toLowerCase());
  }

  userByToken(token: string): UserRecord | undefined {
    for (const user of this.users.values()) if (user.token !== undefined && user.token === token) return user;
    return undefined;
  }

  repo(owner: string, name: string): RepoRecord | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }

  permission(repo: RepoRecord, login: string): Permission | undefined {
    return repo.permissions.get(login.toLowerCase());
  }

  /**
   * Whether `login` may push to `branch`: GitHub's "Restrict who can push to matching branches".
   * Admins are not restricted, as on GitHub while the protection does not enforce rules for them
   * (`enforce_admins`, off by default, which the forge does not model).
   */
  mayPush(repo: RepoRecord, login: string, branch: string): boolean {
    const allowed = repo.pushRestrictions.get(branch);
    return allowed === undefined || allowed.has(login.toLowerCase()) || this.permission(repo, login) === 'admin';
  }
}
