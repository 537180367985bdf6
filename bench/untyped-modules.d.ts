// The two benchmark-only packages ship no types; bench/ uses a small, checked surface of each.
declare module 'oidc-provider' {
  import type { Server } from 'node:http';
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    listen(port: number, host: string, callback: () => void): Server;
    Client: { find(id: string): Promise<unknown> };
    Grant: new (properties: { accountId: string; clientId: string }) => { addResourceScope(resource: string, scope: string): void; save(): Promise<string> };
    RefreshToken: new (properties: Record<string, unknown>) => { save(): Promise<string> };
  }
}

// The in-memory adapter, and the LRU it keeps entries in (bench/oidc-provider-peer.ts gives it a larger one).
declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  export default class MemoryAdapter {
    constructor(model: string, store: object);
  }
}
declare module 'oidc-provider/lib/helpers/lru.js' {
  export default class LRU {
    constructor(options: { maxSize: number });
  }
}

declare module 'autocannon' {
  export interface Histogram {
    average: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
  }
  export interface Result {
    duration: number;
    latency: Histogram;
    requests: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    /** Answers `verifyBody` refused. */
    mismatches: number;
    statusCodeStats: Record<string, { count: number }>;
  }
  /** The raw request autocannon is about to send; `setupRequest` returns it changed. */
  export interface RawRequest {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
  }
  export interface Options {
    url: string;
    connections: number;
    /** Seconds; `amount` wins when both are given. */
    duration?: number;
    /** How many requests in all. */
    amount?: number;
    method: string;
    headers: Record<string, string>;
    body?: string;
    requests?: {
      setupRequest(request: RawRequest): RawRequest;
      /** Called with each answer before the connection's next request is built. */
      onResponse?(status: number, body: string): void;
    }[];
    /** An answer for which it returns false counts as a mismatch. */
    verifyBody?(body: string): boolean;
  }
  export default function autocannon(options: Options): Promise<Result>;
}
