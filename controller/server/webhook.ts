// POST /webhooks/github: a push to the followed branch triggers a reconcile at once, instead of
// waiting for the next poll.
//
// GitHub signs each delivery with HMAC-SHA256 of the raw body under the shared secret
// (X-Hub-Signature-256: sha256=<hex>). The signature is checked over the exact bytes received,
// with a constant-time compare, before anything is parsed: an unauthenticated body is never
// interpreted. Only then are redeliveries (same X-GitHub-Delivery) dropped, so that a forger
// cannot fill the memory of deliveries seen.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { LIMITS } from '../config/defaults.ts';
import type { Metrics, WebhookResult } from './metrics.ts';

export interface WebhookOptions {
  secret: Uint8Array;
  /** The configured repository (URL or path) and branch: pushes elsewhere are ignored. */
  repository: string;
  branch: string;
  trigger(reason: string): void;
  metrics: Metrics;
  remembered?: number;
}

interface PushPayload {
  ref?: unknown;
  after?: unknown;
  repository?: Record<string, unknown>;
}

export function webhookPlugin(options: WebhookOptions): FastifyPluginAsync {
  const seen = new BoundedSet(options.remembered ?? LIMITS.webhookDeliveriesRemembered);
  const expectedRef = `refs/heads/${options.branch}`;

  return async (scope) => {
    // Raw bytes for this route only: the signature covers the body exactly as sent.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: LIMITS.webhookBodyLimit }, (_request, body, done) => done(null, body));

    scope.post('/webhooks/github', { bodyLimit: LIMITS.webhookBodyLimit }, async (request, reply) => {
      const answer = (status: number, result: WebhookResult, message: string) => {
        options.metrics.webhook(result);
        request.log.info({ delivery: request.headers['x-github-delivery'], result }, `webhook: ${message}`);
        return reply.code(status).header('cache-control', 'no-store').send({ result, message });
      };
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (!signatureMatches(options.secret, body, request.headers['x-hub-signature-256'])) {
        return answer(401, 'bad_signature', 'missing or wrong X-Hub-Signature-256');
      }
      const delivery = header(request.headers['x-github-delivery']);
      if (delivery !== undefined && !seen.add(delivery)) return answer(200, 'duplicate', `delivery ${delivery} was already handled`);

      const event = header(request.headers['x-github-event']);
      if (event === 'ping') return answer(200, 'ping', 'pong');
      if (event !== 'push') return answer(200, 'ignored_event', `event ${event ?? '(none)'} is not handled`);

      const payload = parsePayload(body, header(request.headers['content-type']));
      if (payload === undefined) return answer(400, 'bad_payload', 'the body is not a push event payload');
      if (payload.ref !== expectedRef) return ignore(answer, 'ignored_branch', `push to ${String(payload.ref)}, not ${expectedRef}`);
      if (!sameRepository(options.repository, payload.repository ?? {})) {
        return ignore(answer, 'ignored_repository', `push to ${String(payload.repository?.full_name ?? 'another repository')}`);
      }
      options.trigger('webhook');
      return answer(202, 'accepted', `push ${typeof payload.after === 'string' ? payload.after.slice(0, 12) : ''} to ${expectedRef}: reconcile triggered`);
    });
  };
}

function ignore(answer: (status: number, result: WebhookResult, message: string) => FastifyReply, result: WebhookResult, message: string) {
  return answer(200, result, `${message}: ignored`);
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** GitHub's form exactly: `sha256=` and the 64 hex digits of HMAC-SHA256. */
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

export function signatureMatches(secret: Uint8Array, body: Buffer, presented: string | string[] | undefined): boolean {
  // Two headers arrive joined (`a, b`) or as a list: either way not the one exact form, so refused.
  const value = typeof presented === 'string' ? SIGNATURE.exec(presented)?.[1] : undefined;
  if (value === undefined) return false;
  // Checked whole before decoding: Buffer.from(hex) stops at the first non-hex character and
  // drops an odd last digit, so `<signature>zz` would otherwise decode to the right bytes.
  const given = Buffer.from(value, 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(given, expected);
}

/** `application/json`, or GitHub's form encoding (`payload=<json>`). */
function parsePayload(body: Buffer, contentType: string | undefined): PushPayload | undefined {
  try {
    const text = contentType?.startsWith('application/x-www-form-urlencoded')
      ? new URLSearchParams(body.toString('utf8')).get('payload')
      : body.toString('utf8');
    if (text === null) return undefined;
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as PushPayload) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a push payload's repository is the one followed. Compares every URL GitHub gives for it
 * (clone, ssh, git, html) with the configured one, ignoring scheme, credentials, case and `.git`.
 */
export function sameRepository(configured: string, repository: Record<string, unknown>): boolean {
  const target = normalizeRepository(configured);
  return ['clone_url', 'ssh_url', 'git_url', 'html_url', 'svn_url', 'url']
    .map((field) => repository[field])
    .some((value) => typeof value === 'string' && normalizeRepository(value) === target);
}

export function normalizeRepository(value: string): string {
  let text = value.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text);
  if (scheme !== null) text = text.slice(scheme[0].length).replace(/^[^@/]*@/, '');
  else if (/^[^/]*:/.test(text)) text = text.replace(/^[^@/]*@/, '').replace(':', '/');
  text = text.replace(/\/+$/, '').replace(/\.git$/, '');
  const slash = text.indexOf('/');
  return slash < 0 ? text.toLowerCase() : text.slice(0, slash).toLowerCase() + text.slice(slash);
}

/** Insertion-ordered set that forgets its oldest entry past `limit`. */
class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly limit: number) {}

  /** False when already present. */
  add(item: string): boolean {
    if (this.items.has(item)) return false;
    this.items.add(item);
    if (this.items.size > this.limit) this.items.delete(this.items.values().next().value!);
    return true;
  }
}
