import { memoByString } from '../common/memo-by-string';
import { Pool, ProxyAgent, type Dispatcher } from 'undici';
import { withTraceHeaders } from '../tracing/propagation';
import { ElasticPool, type ElasticLimits, type PoolTuneEvent } from './pool-elastic';
import { OriginLedger, type OriginStats } from './pool-stats';
import { reportCall, type UpstreamCallSink } from './upstream-call-log';
import type { ProviderConfig } from './provider.types';
import { classifyTransportError } from './upstream-errors';

export type { OriginStats } from './pool-stats';

/** Client-wide defaults. Every timeout is explicit: undici's hidden 300 s defaults never apply. */
export interface UpstreamClientOptions {
  /** Max sockets per origin (default 128). */
  connections?: number;
  /** Requests in flight per socket (default 1: streams must not queue behind each other). */
  pipelining?: number;
  /** Idle keep-alive before a socket is closed (default 60 000 ms). */
  keepAliveTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Time to response headers; long because reasoning models think before the first byte (default 600 000 ms). */
  headersTimeoutMs?: number;
  /** Max idle gap between body chunks (default 600 000 ms). */
  bodyTimeoutMs?: number;
  /** HTTP(S) proxy for every upstream; one shared ProxyAgent serves all origins. */
  proxyUrl?: string;
  /**
   * Pools.autoTune: origins without an explicit `connections` get an elastic limit within [min, max]
   * (see ElasticPool). An explicit per-provider `pool.connections` pins its origin.
   */
  autoTune?: ElasticLimits;
  /** Told about every grow/shrink (the registry logs them). */
  onTune?: (event: PoolTuneEvent) => void;
  /**
   * Told about every call once its response headers arrived or it failed (the registry's debug log). Set
   * only when debug logging is on: without it a call pays nothing, not even a clock read.
   */
  onCall?: UpstreamCallSink;
}

/** Per-origin pool settings (from ProviderConfig.pool / timeouts). The first configuration of an origin wins. */
export interface OriginOverrides {
  connections?: number;
  pipelining?: number;
  keepAliveTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export interface UpstreamTimeouts {
  headersMs?: number;
  bodyMs?: number;
}

export interface UpstreamRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Aborts the request at any stage, including mid-body (the socket is destroyed). */
  signal?: AbortSignal;
  timeouts?: UpstreamTimeouts;
  /** Pool settings used if this request creates the origin's pool. */
  pool?: OriginOverrides;
}

export type UpstreamBody = Dispatcher.ResponseData['body'];

export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: UpstreamBody;
}

/**
 * Sees the status and headers of every upstream response as soon as they arrive (rate-limit learning). It
 * runs on the hot path: it must be cheap and must not throw; the request tells it which provider answered
 * (URL and credential headers).
 */
export interface UpstreamResponseObserver {
  observe(req: UpstreamRequest, statusCode: number, headers: UpstreamResponse['headers']): void;
}

type OriginPool = Pool | ElasticPool;

const DEFAULTS = {
  connections: 128,
  pipelining: 1,
  keepAliveTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 600_000,
  bodyTimeoutMs: 600_000,
} as const;

/** Pool overrides + timeouts of one provider, in the shape `request()` takes. */
export function providerTransport(p: ProviderConfig): { pool: OriginOverrides; timeouts: UpstreamTimeouts } {
  return {
    pool: {
      connections: p.pool?.connections,
      pipelining: p.pool?.pipelining,
      keepAliveTimeoutMs: p.pool?.keepAliveTimeoutMs,
      connectTimeoutMs: p.timeouts?.connectMs,
    },
    timeouts: { headersMs: p.timeouts?.headersMs, bodyMs: p.timeouts?.bodyMs },
  };
}

/** Origin and path of an upstream URL, parsed once per distinct URL (every request asks). */
const splitUrl = memoByString((raw: string): { origin: string; path: string } => {
  const url = new URL(raw);
  return { origin: url.origin, path: url.pathname + url.search };
});

/**
 * The one owner of upstream sockets: one undici Pool per origin (keep-alive, bounded), or — with a proxy —
 * one shared ProxyAgent whose per-origin pools we still track for stats. Wrapped in a Nest provider by the
 * module, which calls close() on shutdown.
 */
export class UpstreamClient {
  private readonly opts: Required<
    Omit<UpstreamClientOptions, 'proxyUrl' | 'autoTune' | 'onTune' | 'onCall'>
  > &
    Pick<UpstreamClientOptions, 'proxyUrl' | 'autoTune' | 'onTune' | 'onCall'>;
  private readonly pools = new Map<string, OriginPool>();
  /** Pools of retired origins (or of a closing client) finishing their requests. */
  private readonly draining = new Map<OriginPool, Promise<void>>();
  private readonly ledger = new OriginLedger();
  private readonly overrides = new Map<string, OriginOverrides>();
  private readonly proxy?: ProxyAgent;
  private observer?: UpstreamResponseObserver;
  private closed = false;
  private proxyClosing = false;

  constructor(options: UpstreamClientOptions = {}) {
    const pick = <K extends keyof typeof DEFAULTS>(k: K): number => options[k] ?? DEFAULTS[k];
    this.opts = {
      connections: pick('connections'),
      pipelining: pick('pipelining'),
      keepAliveTimeoutMs: pick('keepAliveTimeoutMs'),
      connectTimeoutMs: pick('connectTimeoutMs'),
      headersTimeoutMs: pick('headersTimeoutMs'),
      bodyTimeoutMs: pick('bodyTimeoutMs'),
      proxyUrl: options.proxyUrl || undefined,
      autoTune: options.autoTune,
      onTune: options.onTune,
      onCall: options.onCall,
    };
    if (this.opts.proxyUrl) {
      this.proxy = new ProxyAgent({
        uri: this.opts.proxyUrl,
        ...this.poolOptions({}),
        // Tunnelled pools are created by the agent; record them so stats() keeps working behind a proxy.
        factory: (origin: string | URL, opts: object) => {
          const key = new URL(String(origin)).origin;
          const pool = this.createPool(key, { ...opts, ...this.sizing(this.overrides.get(key) ?? {}) });
          this.pools.set(key, pool);
          return pool;
        },
      });
    }
  }

  /** The dispatcher a URL goes through (exposed for tests and warm-up). */
  dispatcherFor(url: string, overrides: OriginOverrides = {}): Dispatcher {
    if (this.closed) {
      throw new Error('UpstreamClient is closed');
    }
    const { origin } = splitUrl(url);
    if (!this.overrides.has(origin)) {
      this.overrides.set(origin, overrides);
    }
    if (this.proxy) {
      return this.proxy;
    }
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = this.createPool(origin, this.poolOptions(this.overrides.get(origin) ?? {}));
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Origins this client was asked to reach (the ones the idle pings look after). */
  origins(): string[] {
    return [...this.overrides.keys()];
  }

  /** When the origin last carried a real request (warm-up and pings do not count); 0 = never. */
  lastUsedAt(origin: string): number {
    return this.ledger.of(origin).lastUsedAt;
  }

  /** Counts an idle health ping in the origin's stats. */
  notePing(origin: string, ok: boolean): void {
    const a = this.ledger.of(origin);
    a.pings++;
    if (!ok) {
      a.pingFailures++;
    }
  }

  /** The origin's current connection limit. */
  limitOf(origin: string): number {
    const pool = this.pools.get(origin);
    if (pool instanceof ElasticPool) {
      return pool.limit;
    }
    return this.sizing(this.overrides.get(origin) ?? {}).connections ?? this.opts.connections;
  }

  /** One auto-tune pass: every elastic pool that stayed unused past its base size gives back a step. */
  tune(): PoolTuneEvent[] {
    const events: PoolTuneEvent[] = [];
    for (const pool of this.pools.values()) {
      const event = pool instanceof ElasticPool && !pool.closed ? pool.shrinkIfIdle() : undefined;
      if (event) {
        events.push(event);
      }
    }
    return events;
  }

  /** Installs (or, with undefined, removes) the one response observer. */
  setObserver(observer: UpstreamResponseObserver | undefined): void {
    this.observer = observer;
  }

  /** The installed response observer (a client built by a config reload takes it over). */
  getObserver(): UpstreamResponseObserver | undefined {
    return this.observer;
  }

  /**
   * Forgets an origin (a config reload removed it or changed its pool settings): the next request creates
   * a fresh pool with the settings it brings. The old pool takes no new requests and closes once the ones
   * it is running, streamed bodies included, are done. Not for proxied clients (the agent owns their pools).
   */
  async retireOrigin(origin: string): Promise<void> {
    const pool = this.pools.get(origin);
    this.pools.delete(origin);
    this.overrides.delete(origin);
    if (pool) {
      await this.drain(pool);
    }
  }

  /** True when every origin goes through one proxy agent. */
  get proxied(): boolean {
    return this.proxy !== undefined;
  }

  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const url = splitUrl(req.url);
    const dispatcher = this.dispatcherFor(req.url, req.pool);
    this.ledger.of(url.origin).lastUsedAt = Date.now();
    const onCall = this.opts.onCall;
    const startedAt = onCall ? performance.now() : 0;
    try {
      const res = await dispatcher.request({
        origin: url.origin,
        path: url.path,
        method: req.method ?? 'POST',
        headers: withTraceHeaders(req.headers),
        body: req.body,
        signal: req.signal,
        headersTimeout: req.timeouts?.headersMs ?? this.opts.headersTimeoutMs,
        bodyTimeout: req.timeouts?.bodyMs ?? this.opts.bodyTimeoutMs,
      });
      if (this.observer) {
        try {
          this.observer.observe(req, res.statusCode, res.headers);
        } catch {
          // an observer's failure must never fail the call
        }
      }
      if (onCall) {
        reportCall(onCall, req, startedAt, res);
      }
      return { statusCode: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      const failure = classifyTransportError(err, req.signal, url.origin);
      if (onCall) {
        reportCall(onCall, req, startedAt, undefined, failure);
      }
      throw failure;
    }
  }

  /** Live PoolStats per origin (connections, queue depth) for metrics and the status page. */
  stats(): OriginStats[] {
    const out: OriginStats[] = [];
    for (const [origin, pool] of this.pools) {
      if (pool.closed || pool.destroyed) {
        continue;
      }
      out.push(this.ledger.stats(origin, pool.stats, this.limitOf(origin)));
    }
    return out;
  }

  /** Graceful: lets running requests finish (also those of origins retired earlier). */
  async close(): Promise<void> {
    this.closed = true;
    for (const pool of this.pools.values()) {
      void this.drain(pool); // awaited below, with every other pool still draining
    }
    this.pools.clear();
    const all = [...this.draining.values()];
    if (this.proxy && !this.proxyClosing) {
      this.proxyClosing = true;
      all.push(this.proxy.close());
    }
    await Promise.allSettled(all);
  }

  /** Immediate: aborts in-flight requests, including those still draining from retired origins. */
  async destroy(): Promise<void> {
    this.closed = true;
    const all: Array<Promise<void>> = [...this.pools.values(), ...this.draining.keys()]
      .filter((p) => !p.destroyed)
      .map((p) => p.destroy());
    if (this.proxy) {
      all.push(this.proxy.destroy());
    }
    this.pools.clear();
    await Promise.allSettled(all);
  }

  /** Closes a pool that takes no more requests; it stays reachable by destroy() until it is closed. */
  private drain(pool: OriginPool): Promise<void> {
    let closing = this.draining.get(pool);
    if (!closing) {
      closing = (pool.closed ? Promise.resolve() : pool.close())
        .catch(() => undefined)
        .finally(() => this.draining.delete(pool));
      this.draining.set(pool, closing);
    }
    return closing;
  }

  private createPool(origin: string, options: Pool.Options): OriginPool {
    const limits = this.opts.autoTune;
    this.ledger.of(origin);
    if (!limits || this.overrides.get(origin)?.connections !== undefined) {
      return new Pool(origin, options);
    }
    const { connections: _fixed, ...rest } = options;
    return new ElasticPool(origin, rest, limits, (event) => {
      this.ledger.of(origin).tuneEvents++;
      this.opts.onTune?.(event);
    });
  }

  private sizing(o: OriginOverrides): Pool.Options {
    return {
      connections: o.connections ?? this.opts.connections,
      pipelining: o.pipelining ?? this.opts.pipelining,
      keepAliveTimeout: o.keepAliveTimeoutMs ?? this.opts.keepAliveTimeoutMs,
    };
  }

  private poolOptions(o: OriginOverrides): Pool.Options {
    return {
      ...this.sizing(o),
      // Upstreams may hint longer keep-alives; cap them at our own idle timeout.
      keepAliveMaxTimeout: Math.max(o.keepAliveTimeoutMs ?? this.opts.keepAliveTimeoutMs, 1_000),
      connectTimeout: o.connectTimeoutMs ?? this.opts.connectTimeoutMs,
      headersTimeout: this.opts.headersTimeoutMs,
      bodyTimeout: this.opts.bodyTimeoutMs,
    };
  }
}
