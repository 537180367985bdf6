// The public listener's TLS: the certificate and key files of `--tls-cert-file` and
// `--tls-key-file`, checked at start (a pair that does not load refuses the start), and read again
// on SIGHUP or when either file changes, without dropping a connection: Node's
// `server.setSecureContext` applies to the handshakes that follow. Every process that serves HTTP
// (each worker of `--workers N`) holds its own server, so each reloads for itself.
import { X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { ConfigError, type ServeConfig } from '../config/defaults.ts';

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/** How often the files are checked for a change (a stat each, e.g. a renewed Kubernetes secret). */
const WATCH_INTERVAL_MS = 5_000;

/**
 * Reads the pair and checks that it loads (a key that is not the certificate's, a file that is
 * not PEM). Throws a ConfigError naming the file: at start that refuses the configuration.
 */
export function readTlsPair(certFile: string, keyFile: string): TlsPair {
  const read = (file: string, flag: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError(`--${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  };
  const pair = { cert: read(certFile, 'tls-cert-file'), key: read(keyFile, 'tls-key-file') };
  try {
    createSecureContext(pair);
  } catch (error) {
    // OpenSSL's reason (e.g. "key values mismatch"), never the key's bytes.
    throw new ConfigError(`--tls-cert-file ${certFile} and --tls-key-file ${keyFile} do not load as a certificate and its key: ${(error as Error).message}`);
  }
  return pair;
}

/** The pair of the configuration, or undefined when the public listener speaks plain HTTP. */
export function tlsOf(config: ServeConfig): TlsPair | undefined {
  if (config.tlsCertFile === undefined || config.tlsKeyFile === undefined) return undefined;
  return readTlsPair(config.tlsCertFile, config.tlsKeyFile);
}

/** What the log says about a certificate: never the key. */
export function describeCertificate(cert: Buffer): { subject: string; validTo: string; fingerprint256: string } {
  const x509 = new X509Certificate(cert);
  return { subject: x509.subject, validTo: x509.validTo, fingerprint256: x509.fingerprint256 };
}

/**
 * Reloads `server`'s certificate from the configured files when `reload()` is called (SIGHUP) or
 * when a file changes. A pair that does not load is logged and the one in use is kept: a renewal
 * caught halfway (the certificate written, not yet the key) must not take the server down.
 * Returns the way to stop watching.
 */
export function reloadTls(server: Server, config: ServeConfig, logger: Logger): { reload(why: string): boolean; stop(): void } {
  const certFile = config.tlsCertFile!;
  const keyFile = config.tlsKeyFile!;
  const reload = (why: string) => {
    try {
      const pair = readTlsPair(certFile, keyFile);
      server.setSecureContext(pair);
      logger.info({ why, certificate: describeCertificate(pair.cert) }, 'TLS certificate reloaded');
      return true;
    } catch (error) {
      logger.error({ why, err: error }, 'TLS certificate not reloaded; the previous one stays in use');
      return false;
    }
  };
  const onChange = (current: { mtimeMs: number; ino: number }, previous: { mtimeMs: number; ino: number }) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino) reload('a TLS file changed');
  };
  const watch = { interval: WATCH_INTERVAL_MS, persistent: false };
  watchFile(certFile, watch, onChange);
  watchFile(keyFile, watch, onChange);
  return {
    reload,
    stop() {
      unwatchFile(certFile, onChange);
      unwatchFile(keyFile, onChange);
    },
  };
}
