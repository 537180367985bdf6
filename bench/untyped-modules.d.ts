// The two benchmark-only packages ship no types; bench/ uses a small, checked surface of each.
declare module 'oidc-provider' {
  import type { Server } from 'node:http';
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    listen(port: number, host: string, callback: () => void): Server;
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
    requests?: { setupRequest(request: RawRequest): RawRequest }[];
  }
  export default function autocannon(options: Options): Promise<Result>;
}
