// The Fastify composition root: two instances, each with its limits and logger. The public one
// serves the webhook, the sealing key and whatever feature plugins the caller passes (the OAuth
// endpoints, the portal), over TLS when it has a certificate, and with an https issuer refuses
// what arrived over plain HTTP. The operator one serves health, readiness, metrics, status and
// manual sync, apart, so that whoever reaches the public port cannot read the repository's
// status or trigger reconciles. Nothing here knows how a route is implemented beyond wiring it
// to its dependencies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';
import { LIMITS } from '../config/defaults.ts';
import { accessDenied, fromFramework, invalidRequest, sendError } from '../oauth/errors.ts';
import type { ReconcileStatus } from '../reconcile/failures.ts';
import type { RunStatus } from '../store/sync-records.ts';
import type { Metrics } from './metrics.ts';
import { webhookPlugin } from './webhook.ts';

/**
 * The reconciler's state, as the process serving HTTP can see it: in one process the reconciler
 * itself, in a worker the primary's answer over IPC. Readiness comes from the store, which every
 * process shares, so it does not wait on anybody.
 */
export interface StatusSource {
  status(): ReconcileStatus | Promise<ReconcileStatus>;
  /** The commit the store serves; undefined until one has been applied. */
  appliedCommit(): string | undefined;
}

export interface SyncTrigger {
  /**
   * Starts (or queues) a reconcile; resolves with the result of one that began after the call.
   * Undefined when the reconciler stopped first.
   */
  sync(reason: string, options?: SyncRequest): Promise<RunStatus | undefined>;
}

/** How requests reach the public listener. */
export interface Transport {
  /** Set: the listener speaks TLS with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer };
  /** Addresses and CIDR ranges of the reverse proxies whose X-Forwarded-* headers are believed. */
  trustProxy?: readonly string[];
  /** With an https issuer, a request that did not arrive over TLS is refused. */
  issuer: string;
}

export interface SyncRequest {
  /** The rewritten head an operator accepts (`mergekey sync --accept-history-rewrite COMMIT`). */
  acceptHistoryRewrite?: string;
}

/** A commit id (SHA-1 or SHA-256) or a prefix of at least 12 hex digits. */
const ACCEPTED_COMMIT = /^[0-9a-fA-F]{12,64}$/;

export interface AppOptions {
  logger: Logger;
  sync: SyncTrigger;
  metrics: Metrics;
  transport: Transport;
  /** The controller's public sealing key (a JWK), published for `mergekey seal`. */
  sealingKey: object;
  /** Without it, POST /webhooks/github does not exist (404). */
  webhook?: { secret: Uint8Array; repository: string; branch: string };
  /** Feature plugins registered after the operational routes, e.g. `oauthPlugin(deps)`. */
  plugins?: FastifyPluginAsync[];
}

export interface AdminAppOptions {
  logger: Logger;
  reconciler: StatusSource;
  sync: SyncTrigger;
  metrics: Metrics;
  /** What GET /metrics answers; by default `metrics.registry`, in the primary of workers every process's aggregated. */
  renderMetrics?: () => Promise<string>;
  /** How long `POST /api/v1/sync?wait=true` waits before answering 202 `running` (default `LIMITS.syncAnswerMs`). */
  syncAnswerMs?: number;
  /** Why a serving process's store cannot write now (a full disk), if one cannot: then the server is not ready. */
  storeProblem?: () => string | undefined;
}

/** The public listener: webhook, sealing key, the feature plugins. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { transport } = options;
  const app = Fastify({
    ...fastifyOptions(options.logger, transport.tls),
    // Fastify (proxy-addr) believes X-Forwarded-Proto and X-Forwarded-For only from these peers.
    trustProxy: transport.trustProxy === undefined || transport.trustProxy.length === 0 ? false : [...transport.trustProxy],
  });
  noSniff(app);
  notFound(app);
  answerExpectations(app);
  answerErrors(app, transport.issuer);
  refuseAmbiguousMessages(app, transport.issuer);
  if (transport.issuer.startsWith('https:')) app.addHook('onRequest', requireTls(transport.issuer));

  app.get('/.well-known/mergekey-sealing-key', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(options.sealingKey),
  );

  if (options.webhook !== undefined) {
    await app.register(
      webhookPlugin({
        ...options.webhook,
        trigger: (reason) => {
          options.sync.sync(reason).catch((err: unknown) => options.logger.error({ err }, 'the webhook could not trigger a reconcile'));
        },
        metrics: options.metrics,
      }),
    );
  }

  for (const plugin of options.plugins ?? []) await app.register(plugin);
  return app;
}

/**
 * With an https issuer nothing is served over plain HTTP (SPEC). RFC 6749 section 3.2: "Since
 * requests to the token endpoint result in the transmission of clear-text credentials (in the HTTP
 * request and response), the authorization server MUST require the use of TLS". A request counts
 * as TLS when its socket is encrypted, or when a `--trust-proxy` peer says `X-Forwarded-Proto:
 * https` (RFC 9700 section 4.13: only a proxy that sanitizes those headers may be believed;
 * Fastify's `request.protocol` reads the header from trusted peers only). No redirect to https:
 * the credentials already crossed the network, and a redirect would teach a client that plain
 * HTTP works. Answers that did arrive over TLS carry HSTS.
 */
function requireTls(issuer: string) {
  return async function requireTls(request: FastifyRequest, reply: FastifyReply) {
    // A request made inside this process with `inject` (the portal asking the token endpoint for
    // a developer) has crossed no network; every request that did arrives on a socket.
    if (!(request.raw.socket instanceof Socket)) return undefined;
    // RFC 6797: a browser that once reached the portal over TLS does not try plain HTTP again.
    if (request.protocol === 'https') return void reply.header('strict-transport-security', 'max-age=31536000');
    return sendError(reply, invalidRequest(`TLS is required: the issuer is ${issuer}; send this request over https`), issuer);
  };
}

/** The operator listener: health, readiness, metrics, status and manual sync. */
export async function buildAdminApp(options: AdminAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ ...fastifyOptions(options.logger, undefined), trustProxy: false });

  noSniff(app);
  notFound(app);
  answerExpectations(app);
  answerErrors(app, OPERATOR_REALM);
  refuseAmbiguousMessages(app, OPERATOR_REALM);
  refuseBrowsers(app);
  // No operator route reads a body: none is parsed (a body with a content type is a 415).
  app.removeAllContentTypeParsers();

  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const storeProblem = options.storeProblem?.();
    if (storeProblem !== undefined) return reply.code(503).send({ ready: false, message: storeProblem });
    const commit = options.reconciler.appliedCommit();
    if (commit !== undefined) return reply.send({ ready: true, commit });
    return reply.code(503).send({ ready: false, message: 'no commit has been applied yet' });
  });

  const renderMetrics = options.renderMetrics ?? (() => options.metrics.registry.metrics());
  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', options.metrics.registry.contentType).header('cache-control', 'no-store').send(await renderMetrics()),
  );

  app.get('/api/v1/status', async (_request, reply) => reply.header('cache-control', 'no-store').send(await options.reconciler.status()));

  // Steps: parse the query, trigger (or join) a reconcile, answer its result — or, when git is
  // slow (a fetch may take up to the git timeout, far past the request timeout), answer 202 before
  // the request timeout cuts the reply, saying when the request was taken so that a client can
  // watch GET /api/v1/status for the run that started after it (`mergekey sync` does).
  const syncAnswerMs = options.syncAnswerMs ?? LIMITS.syncAnswerMs;
  app.post<{ Querystring: { wait?: string; acceptHistoryRewrite?: string } }>('/api/v1/sync', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { wait, acceptHistoryRewrite } = request.query;
    if (wait !== undefined && wait !== 'true' && wait !== 'false') {
      return sendError(reply, invalidRequest("wait must be 'true' or 'false'"), 'mergekey');
    }
    if (acceptHistoryRewrite !== undefined && !ACCEPTED_COMMIT.test(acceptHistoryRewrite)) {
      return sendError(reply, invalidRequest('acceptHistoryRewrite must be a commit id (12 to 64 hex digits)'), 'mergekey');
    }
    const requestedAt = new Date().toISOString();
    const done = options.sync.sync('manual', acceptHistoryRewrite === undefined ? undefined : { acceptHistoryRewrite: acceptHistoryRewrite.toLowerCase() });
    done.catch((err: unknown) => request.log.error({ err }, 'the triggered reconcile could not be started'));
    if (wait !== 'true') return reply.code(202).send({ result: 'triggered', requestedAt });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), syncAnswerMs)));
    const unreachable = done.then(() => undefined, () => 'unreachable' as const);
    const run = await Promise.race([done.catch(() => unreachable), late]).finally(() => clearTimeout(timer));
    if (run === 'unreachable') return reply.code(503).send({ result: 'unavailable', message: 'the reconciler did not take the request; retry' });
    if (run === 'running') {
      return reply.code(202).send({
        result: 'running',
        requestedAt,
        message: 'the reconcile has not finished yet (git is slow); GET /api/v1/status shows it once lastAttempt.startedAt is at or after requestedAt',
      });
    }
    if (run === undefined) return reply.code(503).send({ result: 'stopped', message: 'the controller is shutting down' });
    return reply.send({ result: 'finished', run });
  });
  return app;
}

/**
 * Every answer of a listener, whatever route or error made it: a browser never guesses a JSON error
 * body or an echoed value to be HTML or script (Fetch standard, "X-Content-Type-Options").
 */
function noSniff(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
  });
}

/**
 * A path no route answers. Fastify's own 404 repeats the method and path it was given; an answer
 * describes the request and never echoes it, so nothing a caller typed comes back. Feature plugins
 * with pages (the portal) set their own for their prefix.
 */
function notFound(app: FastifyInstance): void {
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).header('cache-control', 'no-store').send(NOT_FOUND),
  );
}

const OPERATOR_REALM = 'mergekey operator';

/**
 * Errors of the listener's own routes and of Fastify before any route ran (a body too large, of a
 * type no parser takes, that does not parse) answer in the server's one error shape, as the
 * feature plugins' do, never Fastify's body (which names its internal error codes).
 */
function answerErrors(app: FastifyInstance, realm: string): void {
  app.setErrorHandler((err, _request, reply) => sendError(reply, fromFramework(err), realm));
}

/**
 * The operator listener answers tools (curl, Prometheus, `mergekey status`), never a web page. It
 * has no authentication and trusts being on loopback, but a browser on the operator's machine is
 * on loopback too: any site can make it POST /api/v1/sync (a "simple" cross-site request needs no
 * preflight), and one that rebinds its DNS name to 127.0.0.1 reads the status and metrics as
 * same-origin. A browser says what it is doing (Fetch Metadata, W3C; `Origin`, RFC 6454): a
 * request that comes from a page (`Sec-Fetch-Site` other than `none`, which is the operator
 * typing the URL), or that carries an `Origin`, is refused with 403. Tools send neither.
 */
function refuseBrowsers(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    const site = request.headers['sec-fetch-site'];
    if ((site !== undefined && site !== 'none') || request.headers.origin !== undefined) {
      return sendError(reply, accessDenied('the operator listener does not answer requests made by web pages'), OPERATOR_REALM);
    }
    return undefined;
  });
}

// Header fields that hold one value (RFC 9110 section 5.3: a sender "MUST NOT generate multiple
// field lines with the same name in a message ... unless" the field is a list). Node keeps the
// first of a repeated Authorization, Content-Type or Host and drops the rest without a word; a
// proxy in front may have read the last. Two parties reading one request two ways is how
// credentials and bodies get smuggled, so such a request is refused, not interpreted.
const SINGLETON_FIELDS: ReadonlySet<string> = new Set(['host', 'authorization', 'content-type', 'content-length']);

// RFC 9112 section 3.2 and RFC 3986 section 3.2.2: `uri-host [ ":" port ]`, an IP literal in
// brackets or a reg-name (empty allowed, as for a target without authority).
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?$/;

/**
 * Requests whose meaning is ambiguous get `400 invalid_request` before any route reads them:
 * - a singleton header field sent more than once;
 * - an HTTP/1.1 request without Host. RFC 9112 section 3.2: "A server MUST respond with a 400
 *   (Bad Request) status code to any HTTP/1.1 request message that lacks a Host header field
 *   and to any request message that contains more than one Host header field line or a Host
 *   header field with an invalid field value". (Node's own refusal of a missing Host is turned
 *   off in `fastifyOptions`, so that this answer, in the server's error shape, is the one sent.)
 * - a body with a content coding (`Content-Encoding: gzip`): nothing here decodes one, and a
 *   body read as if it had none is not what the client sent. RFC 9110 section 8.4: "An origin
 *   server MAY respond with a status code of 415 (Unsupported Media Type) if a representation in
 *   the request message has a content coding that is not acceptable."
 */
function refuseAmbiguousMessages(app: FastifyInstance, realm: string): void {
  app.addHook('onRequest', async (request, reply) => {
    const refusal = ambiguity(request);
    if (refusal !== undefined) return sendError(reply, refusal, realm);
    return undefined;
  });
}

function ambiguity(request: FastifyRequest): ReturnType<typeof invalidRequest> | undefined {
  const raw = request.raw.rawHeaders;
  const seen = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!SINGLETON_FIELDS.has(name)) continue;
    // Named: these are the server's own field names, not the caller's input.
    if (seen.has(name)) return invalidRequest(`the request has more than one ${name} header field`);
    seen.add(name);
  }
  if (!seen.has('host') && request.raw.httpVersion === '1.1') return invalidRequest('an HTTP/1.1 request needs a Host header field');
  const host = request.headers.host;
  if (host !== undefined && !HOST.test(host)) return invalidRequest('the Host header field is not a host and port');
  const coding = request.headers['content-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
    return invalidRequest('request bodies with a content coding (Content-Encoding) are not accepted', 415);
  }
  return undefined;
}

/**
 * An `Expect` other than `100-continue` (which Node answers itself): RFC 9110 section 10.1.1, "A
 * server that receives an Expect field value containing a member other than 100-continue MAY
 * respond with a 417 (Expectation Failed)". Node sends that 417 with no body unless a listener
 * answers; this one answers it in the server's error shape. No route runs.
 */
function answerExpectations(app: FastifyInstance): void {
  app.server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify({ error: 'invalid_request', error_description: 'the request expects something this server does not do (Expect)' });
    response.writeHead(417, {
      'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
      connection: 'close', 'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
}

/**
 * What a listener answers when Node cannot parse a request at all (a malformed request line or
 * header, headers past Node's size limit) or the client is too slow (the header and request
 * timeouts): the server's one error shape, an RFC 6749 `invalid_request` with the headers every
 * answer carries, instead of Fastify's own body. The connection is closed, as Node does: what
 * follows a message that did not parse cannot be trusted to start a new one.
 */
function clientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, description] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', 'the request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', 'the request header fields are too large']
        : [400, 'Bad Request', 'the request is not a well-formed HTTP/1.1 message'];
  this.log.debug({ err }, 'unreadable request');
  const body = JSON.stringify({ error: 'invalid_request', error_description: description });
  // Not once a response to an earlier request on this connection has started: the bytes would
  // land inside it (Node's own handler holds back for the same reason).
  const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && answering?.headersSent !== true) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\n`
      + 'Content-Type: application/json; charset=utf-8\r\n'
      + 'Cache-Control: no-store\r\n'
      + 'X-Content-Type-Options: nosniff\r\n'
      + 'Connection: close\r\n'
      + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  socket.destroy();
}

export const NOT_FOUND = Object.freeze({ error: 'not_found', error_description: 'No route answers this method and path.' });
const BAD_URL = Object.freeze({ error: 'invalid_request', error_description: 'The request path is not a valid URL path.' });

/** What both listeners share: limits, timeouts, logging; TLS when the listener has a certificate. */
function fastifyOptions(logger: Logger, tls: Transport['tls']) {
  const server = {
    // A missing Host is refused by `refuseAmbiguousMessages`, in the server's error shape; Node's
    // own refusal is a bare 400 with no body.
    requireHostHeader: false,
    headersTimeout: LIMITS.headersTimeoutMs,
    requestTimeout: LIMITS.requestTimeoutMs,
    connectionsCheckingInterval: LIMITS.connectionsCheckingIntervalMs,
  };
  return {
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: LIMITS.bodyLimit,
    requestTimeout: LIMITS.requestTimeoutMs,
    // Fastify sets no headers timeout of its own; Node's default (60 s) outlives the request
    // timeout, and its 30 s checking interval would let a slow client hold a socket up to twice
    // as long as either says. An https server takes the same options beside its key pair, and a
    // TLS handshake gets no longer than the headers (Node's default is 120 s).
    ...(tls === undefined ? { http: server } : { https: { ...server, ...tls, handshakeTimeout: LIMITS.headersTimeoutMs } }),
    connectionTimeout: LIMITS.requestTimeoutMs,
    keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
    // Idle keep-alive sockets must not hold a graceful shutdown open; in-flight requests finish.
    forceCloseConnections: 'idle' as const,
    return503OnClosing: true,
    logController: new AccessLogAtDebug(),
    clientErrorHandler: clientError,
    childLoggerFactory: requestLogger,
    // A path that does not decode (`/portal/%`): Fastify's answer would echo it. Fastify answers
    // these before any hook runs, so the headers every answer carries are set here too.
    frameworkErrors: (_error: Error, _request: FastifyRequest, reply: FastifyReply) =>
      reply.code(400).header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').send(BAD_URL),
  };
}

/**
 * Access log lines at debug level. At info, the two lines Fastify writes per request cost 73 µs
 * of CPU per token (219 → 292 µs, 29% fewer tokens per second, measured with bench/token.ts
 * and --workers 1): more than signing the token. A request that failed is still logged as an error.
 */
class AccessLogAtDebug extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else request.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * Fastify gives every request a child logger bound to its request id. Making one ran pino's
 * secret redaction over the bindings and cost 1.9% of a worker's CPU in a profile of
 * `npm run bench:token`, on every request, though at the default level a request that succeeds
 * logs nothing. So the child is made when the request first logs at an enabled level, with the
 * same bindings and options; until then a call only asks the parent whether its level is on.
 * Route options (a level of its own, serializers) still get their child at once.
 */
function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  const parent = logger as Logger;
  if (Object.keys(options).length > 0 || typeof parent.isLevelEnabled !== 'function') return logger.child(bindings, options);
  return new RequestLogger(parent, bindings);
}

class RequestLogger implements FastifyBaseLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  fatal(...args: unknown[]): void {
    this.#log('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#log('error', args);
  }
  warn(...args: unknown[]): void {
    this.#log('warn', args);
  }
  info(...args: unknown[]): void {
    this.#log('info', args);
  }
  debug(...args: unknown[]): void {
    this.#log('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#log('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }

  #log(level: Level, args: unknown[]): void {
    if (!(this.#child ?? this.#parent).isLevelEnabled(level)) return;
    (this.#logger()[level] as (...args: unknown[]) => void)(...args);
  }

  #logger(): Logger {
    return this.#child ??= this.#parent.child(this.#bindings);
  }
}
