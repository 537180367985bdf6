// Structured logs (pino, shared with Fastify) that never carry a secret. Redaction covers where a
// secret can end up in a log line: credentials in request headers, token and password fields in
// objects handed to the logger, and query strings (where a careless client puts tokens).
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

const CENSOR = '[redacted]';

/** Every path pino removes from a log line, whatever logs it. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-hub-signature"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...['password', 'secret', 'client_secret', 'clientSecret', 'token', 'access_token', 'refresh_token', 'assertion',
    'client_assertion', 'sealed', 'plaintext', 'passwordHash', 'privateKey', 'key', 'webhookSecret'].flatMap((field) => [field, `*.${field}`]),
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    serializers: {
      // Fastify's default request serializer, without the query string: its values stay out.
      req(request: { method?: string; url?: string; hostname?: string; ip?: string }) {
        const url = request.url ?? '';
        const query = url.indexOf('?');
        return {
          method: request.method,
          url: query < 0 ? url : `${url.slice(0, query)}?${CENSOR}`,
          host: request.hostname,
          remoteAddress: request.ip,
        };
      },
      err: pino.stdSerializers.err,
    },
  };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination === undefined ? pino(loggerOptions(level)) : pino(loggerOptions(level), destination);
}
