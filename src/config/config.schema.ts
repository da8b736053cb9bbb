import { z } from 'zod';

/**
 * The configuration schema. Top-level CCR keys keep CCR's names (`Providers`, `Router`, `APIKEY`, …); the
 * seed's sections keep their names and shapes (`Redis`, `Logging`, `Compression`, `Failover`,
 * `AdaptiveTimeout`, `JobQueue`). Defaults live in config/default.json, not here, so that one file shows them.
 */

const target = z.string().regex(/^[^,]+,.+$/, 'must be "provider,model"');
const targetOrList = z.union([target, z.array(target).min(1)]);
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** `"name"` or `["name", options]`; like CCR, `["name"]` and extra elements are accepted (options that are not an object are ignored). */
const transformerUse = z.union([z.string(), z.tuple([z.string()], z.unknown())]);

export const providerSchema = z.looseObject({
  name: z
    .string()
    .min(1)
    .regex(/^[^,]+$/, 'must not contain a comma'),
  api_base_url: z.url({ message: 'must be an absolute http(s) URL' }),
  api_key: z.string().optional(),
  models: z.array(z.string().min(1)).min(1, 'must list at least one model'),
  transformer: z.looseObject({ use: z.array(transformerUse).optional() }).optional(),
  kind: z.enum(['anthropic', 'openai', 'gemini']).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  pool: z
    .object({
      connections: positiveInt.optional(),
      pipelining: positiveInt.optional(),
      keepAliveTimeoutMs: positiveInt.optional(),
    })
    .optional(),
  timeouts: z
    .object({
      connectMs: positiveInt.optional(),
      headersMs: positiveInt.optional(),
      bodyMs: positiveInt.optional(),
    })
    .optional(),
  allowFields: z.array(z.string()).optional(),
  allowBetas: z.array(z.string()).optional(),
  maxTokens: positiveInt.optional(),
  countTokens: z.boolean().optional(),
  authHeader: z.enum(['x-api-key', 'bearer']).optional(),
  includeUsage: z.boolean().optional(),
});

const routerSchema = z.looseObject({
  default: targetOrList.optional(),
  background: targetOrList.optional(),
  think: targetOrList.optional(),
  longContext: targetOrList.optional(),
  longContextThreshold: positiveInt,
  webSearch: targetOrList.optional(),
  image: targetOrList.optional(),
});

/** Named failover trigger classes (`Failover.triggers`); see docs/failover.md. */
export const FAILOVER_TRIGGERS = [
  'connect',
  'upstream_timeout',
  'first_byte_timeout',
  'http_408',
  'http_429',
  'http_500',
  'http_502',
  'http_503',
  'http_504',
  'http_529',
  'first_event_error',
  'mid_answer',
  'protocol',
  'context_window',
] as const;

/** Active provider probes: `Failover.health`, overridable per provider as `Providers[].health`. */
export const providerHealthSchema = z.object({
  enabled: z.boolean().optional(),
  mode: z.enum(['models', 'request']).optional(),
  intervalMs: positiveInt.optional(),
  timeoutMs: positiveInt.optional(),
  /** Request mode: the model probed (default: the provider's first model). */
  model: z.string().min(1).optional(),
  /** Models mode: an explicit URL when the provider's models endpoint is not the derived one. */
  url: z.url().optional(),
});

/** One priority class of JobQueue (higher `priority` = served first, as in the seed). */
const queueClassSchema = z.object({
  priority: z.number().int().min(1).max(1000),
  /** Jobs one worker process runs at once for this class. */
  concurrency: positiveInt,
  /** Longest wait before the upstream call starts; interactive past it ⇒ 503 with retry-after. */
  maxWaitMs: positiveInt,
  /** BullMQ attempts with exponential backoff (interactive: 1, failover does the retrying). */
  attempts: positiveInt,
  backoffMs: positiveInt,
});

const featureFlag = z.object({ enabled: z.boolean(), rollout: z.number().min(0).max(100) });

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** `localhost:6379` or `http://…` would only show up later, as connections to the wrong place. */
const redisUrl = z
  .string()
  .regex(/^$|^(rediss?|redis\+sentinel):\/\/[^/?#]/, 'must be a URL redis://host[:port][/db] or rediss://…');

export const configSchema = z.looseObject({
  HOST: z.string().min(1).optional(),
  PORT: z.number().int().min(0).max(65535),
  APIKEY: z.string().min(1).optional(),
  LOG: z.boolean(),
  LOG_LEVEL: logLevel.optional(),
  API_TIMEOUT_MS: positiveInt,
  PROXY_URL: z.url().optional(),
  CUSTOM_ROUTER_PATH: z.string().min(1).optional(),
  Providers: z.array(providerSchema),
  Router: routerSchema,
  fallback: z.record(z.string(), z.array(target)).optional(),
  transformers: z
    .array(z.looseObject({ path: z.string().min(1), options: z.record(z.string(), z.unknown()).optional() }))
    .optional(),
  Server: z.object({
    bodyLimit: positiveInt,
    shutdownGraceMs: nonNegativeInt,
    pingIntervalMs: positiveInt,
    stalledClientMs: positiveInt,
    /** A full GC once the process is idle and its heap grew this many MB past the live set; 0 = never. */
    idleGcMb: nonNegativeInt,
    /** Model requests started per event-loop turn adapt to keep a turn near `targetTurnMs` (admission-gate.ts). */
    admission: z.object({
      enabled: z.boolean(),
      targetTurnMs: positiveInt,
      /** More than this many waiting ⇒ 503 overloaded_error with retry-after (sustained overload). */
      maxWaiting: positiveInt,
      /** An answer's first write waits at most this long for its turn (0: no bound). */
      answerMaxWaitMs: nonNegativeInt.default(100),
    }),
  }),
  Redis: z.object({
    enabled: z.boolean(),
    url: redisUrl.optional(),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    password: z.string().optional(),
    db: nonNegativeInt,
    keyPrefix: z.string(),
    ttl: positiveInt,
    maxRetries: nonNegativeInt,
    commandTimeoutMs: positiveInt,
    required: z.boolean(),
    cluster: z.array(z.object({ host: z.string(), port: z.number().int() })).optional(),
    sentinels: z.array(z.object({ host: z.string(), port: z.number().int() })).optional(),
    name: z.string().optional(),
    /** Password of the Sentinel processes themselves (the data nodes use `password`). */
    sentinelPassword: z.string().optional(),
    /** Ping period of the hot connection's watchdog: a Redis that stops answering is noticed this fast. */
    watchdogIntervalMs: positiveInt,
  })
    .refine((r) => !(r.sentinels && r.sentinels.length > 0) || (r.name !== undefined && r.name.length > 0), {
      message: 'set without Redis.name (the Sentinel master group name)',
      path: ['sentinels'],
    }),
  // Exact-match response cache (docs/caching.md): memory LRU tier in front of a Redis tier.
  Cache: z.object({
    enabled: z.boolean(),
    /** Seconds; default `Redis.ttl`. */
    ttl: positiveInt.optional(),
    maxMemoryBytes: positiveInt,
    scenarios: z.array(z.string().min(1)),
    skipWhenTemperatureAbove: z.number().min(0).nullable(),
    partitionByKey: z.boolean(),
    /** pause_turn is never storable: it is a partial answer the client must continue. */
    storeStopReasons: z.array(z.enum(['end_turn', 'tool_use', 'stop_sequence', 'max_tokens', 'refusal'])),
    snapshotPath: z.string().min(1).nullable(),
    paceReplayMs: nonNegativeInt,
  }),
  Logging: z.object({
    level: logLevel,
    prettyPrint: z.boolean(),
    redact: z.array(z.string()),
    correlationId: z.boolean(),
  }),
  Compression: z.object({
    enabled: z.boolean(),
    threshold: nonNegativeInt,
    level: z.number().int().min(0).max(11),
    encodings: z.array(z.enum(['gzip', 'br', 'deflate'])).min(1),
    /** Also compress SSE, flushed per event (off by default: small deltas gain little, memory per stream). */
    streams: z.boolean(),
  }),
  // Upstream connection pools: warm-up at boot, pings on idle origins, auto-tuned connection limits.
  Pools: z
    .object({
      warmup: z.boolean(),
      warmConnections: nonNegativeInt,
      warmupTimeoutMs: positiveInt,
      /** 0 disables the idle pings. */
      healthPingMs: nonNegativeInt,
      autoTune: z.boolean(),
      minConnections: positiveInt,
      maxConnections: positiveInt,
      tuneIntervalMs: positiveInt,
    })
    .refine((p) => p.minConnections <= p.maxConnections, {
      message: 'must not exceed Pools.maxConnections',
      path: ['minConnections'],
    }),
  Failover: z.object({
    enabled: z.boolean(),
    providers: z.object({ primary: target.optional(), fallback: z.array(target).optional() }),
    maxRetries: nonNegativeInt,
    timeout: positiveInt,
    /** Call upstreams in streaming mode even for non-stream clients, so a hang is caught by the first-byte deadline. */
    streamUpstream: z.boolean(),
    // Reliability (docs/failover.md): trigger classes, retry-after cap, breakers, hedging, active probes.
    triggers: z.array(z.enum(FAILOVER_TRIGGERS)),
    maxCooldownMs: positiveInt,
    breaker: z.object({
      errorRatio: z.number().gt(0).max(1),
      minRequests: positiveInt,
      windowMs: positiveInt,
      consecutiveFailures: positiveInt,
      openMs: positiveInt,
      maxOpenMs: positiveInt,
      /** Opens on a hang: enough attempts waiting for a first byte well past the target's usual TTFB. */
      slowCalls: z.object({
        enabled: z.boolean(),
        minCalls: positiveInt,
        k: z.number().positive(),
        minMs: positiveInt,
      }),
    }),
    hedge: z.object({
      enabled: z.boolean(),
      budgetPercent: z.number().min(0).max(100),
      windowMs: positiveInt,
    }),
    health: providerHealthSchema.required({ enabled: true, mode: true, intervalMs: true, timeoutMs: true }),
    /** A streamed answer that breaks after its first event continues on the next target (docs/failover.md). */
    resume: z.object({
      enabled: z.boolean(),
      maxResumes: nonNegativeInt,
    }),
  }),
  AdaptiveTimeout: z.object({
    enabled: z.boolean(),
    // Total deadline (docs/failover.md): baseTimeout + first byte + max_tokens at minTokensPerSecond, × the
    // model's multiplier, capped by maxTimeout (absent: API_TIMEOUT_MS).
    baseTimeout: positiveInt,
    minTokensPerSecond: z.number().positive(),
    maxTimeout: positiveInt.optional(),
    /** Removed: it assumed ~2,000 output tokens/s and cut healthy answers (a loud error, not a silent drop). */
    perTokenMs: z
      .never({
        message:
          'no longer supported: the total deadline now covers max_tokens at AdaptiveTimeout.minTokensPerSecond ' +
          '(default 20 tokens/s); remove perTokenMs (docs/failover.md#adaptive-timeouts)',
      })
      .optional(),
    modelMultipliers: z.record(z.string(), z.number().positive()),
    // Learned deadlines (docs/failover.md): p99 × k clamped to [minMs, maxMs].
    firstByte: z.object({
      k: z.number().positive(),
      minMs: positiveInt,
      maxMs: positiveInt,
      perInputTokenMs: z.number().nonnegative(),
    }),
    idle: z.object({ k: z.number().positive(), minMs: positiveInt, maxMs: positiveInt }),
    minSamples: positiveInt,
    historySize: positiveInt,
    historyPath: z.string().min(1).optional(),
  }),
  Dedup: z
    .object({
      enabled: z.boolean(),
      crossInstance: z.boolean(),
      maxWaitMs: positiveInt,
      maxLogBytes: positiveInt,
      lockTtlMs: positiveInt,
      heartbeatMs: positiveInt,
      batchMs: nonNegativeInt,
      batchEvents: positiveInt,
    })
    .refine((d) => d.heartbeatMs < d.lockTtlMs, {
      message: 'must be shorter than Dedup.lockTtlMs (the lock would expire between heartbeats)',
      path: ['heartbeatMs'],
    }),
  // Scale-out (docs/scaling.md): BullMQ queues (or the in-process scheduler), roles, provider concurrency.
  JobQueue: z.object({
    /** BullMQ queues on Redis; false (or Redis down) ⇒ the in-process priority scheduler. */
    enabled: z.boolean(),
    /** The seed's separate queue Redis (host/port); default: the `Redis` section's server. */
    redis: z.object({ host: z.string(), port: z.number().int() }).optional(),
    /** BullMQ key prefix (under `Redis.keyPrefix`). */
    prefix: z.string().min(1),
    /** Which parts this process runs (`--role`, env SWITCHYARD_ROLE). */
    role: z.enum(['api', 'worker', 'all']),
    queues: z.object({
      interactive: queueClassSchema,
      batch: queueClassSchema,
      background: queueClassSchema,
    }),
    /** Completed / failed jobs kept (count, age in seconds): Redis memory stays bounded. */
    keepCompleted: z.object({ count: nonNegativeInt, ageSec: positiveInt }),
    keepFailed: z.object({ count: nonNegativeInt, ageSec: positiveInt }),
    /** A worker refreshes a liveness key per running job this often; the API side gives up after workerLostMs. */
    workerHeartbeatMs: positiveInt,
    workerLostMs: positiveInt,
    /** Cluster-wide concurrent upstream calls per provider name (a Redis semaphore; local at limit/N). */
    providerConcurrency: z.record(z.string(), positiveInt),
    /** Lease of a provider slot; refreshed while held, so a dead process frees its slots after this long. */
    slotLeaseMs: positiveInt,
    /** Cluster-wide repeatable jobs (one run per cluster, not per instance). */
    scheduled: z.object({
      healthProbeMs: nonNegativeInt,
      pruneMs: nonNegativeInt,
      warmupMs: nonNegativeInt,
    }),
  }),
  // Cross-instance rate limits (docs/ratelimit.md). Every limit is per minute; 0 = unlimited.
  RateLimit: z.object({
    enabled: z.boolean(),
    /** Per client (the key it presents, else its IP address). */
    client: z.object({ rpm: nonNegativeInt, tpm: nonNegativeInt }),
    /**
     * Overrides per client key. The map key is the client key itself or `sha256:<64 hex>` of it (so a config
     * file need not hold the key); either way only its digest is kept and nothing is logged. A field left out
     * falls back to `client`.
     */
    keys: z.record(
      z
        .string()
        .min(1)
        .refine((k) => !/^sha256:/i.test(k) || /^sha256:[0-9a-f]{64}$/i.test(k), {
          message: 'a "sha256:" entry must be followed by the 64 hex digits of the key\'s SHA-256',
        }),
      z.object({ rpm: nonNegativeInt.optional(), tpm: nonNegativeInt.optional() }),
    ),
    /** Per provider name (`Providers[].name`). */
    providers: z.record(
      z.string(),
      z.object({ rpm: nonNegativeInt.optional(), tpm: nonNegativeInt.optional() }),
    ),
    /** Learn provider limits from anthropic-ratelimit-*, x-ratelimit-* and retry-after headers. */
    learnFromHeaders: z.boolean(),
    /**
     * The client TPM estimate charged before the answer counts at most this many of the request's
     * `max_tokens` (the real usage is settled after the answer).
     */
    maxTokensEstimate: positiveInt,
  }),
  // Session affinity (docs/scaling.md): a Claude Code session stays on the target that served it well.
  Affinity: z.object({
    enabled: z.boolean(),
    ttlSec: positiveInt,
    /** Consecutive answers from another target before a session moves (failover moves it at once). */
    moveAfter: positiveInt,
  }),
  // Anthropic-compatible Message Batches API, run by the gateway on the batch queue.
  Batches: z.object({
    enabled: z.boolean(),
    maxRequests: positiveInt,
    /** A batch not finished after this long ends; unfinished requests become `expired`. */
    expiresAfterSec: positiveInt,
    /** Results are kept this long after the batch ended. */
    retainSec: positiveInt,
  }),
  // Prometheus metrics and SLA windows (docs/observability.md): `GET /metrics`, `GET /api/sla`.
  Metrics: z.object({
    /** false: no `/metrics` (404) and no SLA windows. */
    enabled: z.boolean(),
    /** Node process metrics (CPU, RSS, heap, GC, event-loop lag, handles). */
    processMetrics: z.boolean(),
    /** Memory the process may use (the "memory > 90 %" alert); null: the cgroup limit, else the machine's RAM. */
    memoryLimitBytes: positiveInt.nullable(),
    sla: z.object({
      /** Share of requests (client errors and aborts left out) that must not fail, e.g. 0.999. */
      availability: z.number().gt(0).lt(1),
      /** p95 of the time to first byte of successful answers must stay at or under this. */
      p95Ms: positiveInt,
    }),
  }),
  // OpenTelemetry traces (docs/observability.md#tracing): off by default, exported over OTLP/HTTP.
  Tracing: z.object({
    enabled: z.boolean(),
    /** `service.name` of the exported spans. */
    serviceName: z.string().min(1),
    /** The collector's OTLP traces URL (`…/v1/traces`). */
    endpoint: z.url({ message: 'must be an absolute http(s) URL' }),
    protocol: z.enum(['http/protobuf', 'http/json']),
    /** Sent with every export (collector or vendor authentication). */
    headers: z.record(z.string(), z.string()),
    /** Share of new traces kept; a client's `traceparent` decides for the traces it starts. */
    sampleRatio: z.number().min(0).max(1),
    exportTimeoutMs: positiveInt,
  }),
  // Runtime feature flags (docs/features.md): each feature's `enabled` and `rollout` (share of traffic, chosen
  // deterministically by session or request hash) on top of its own section's switch; `GET/PUT /api/features`.
  Features: z.object({
    cache: featureFlag,
    dedup: featureFlag,
    failover: featureFlag,
    adaptiveTimeout: featureFlag,
    hedge: featureFlag,
    queue: featureFlag,
    compression: featureFlag,
    rateLimit: featureFlag,
    affinity: featureFlag,
    /** What picks a request's rollout bucket: its session (Claude Code's session id), else the request body hash. */
    bucketBy: z.enum(['session', 'request']),
    /** The rollback guard: turns a feature off when the traffic it touches goes bad. */
    guard: z.object({
      enabled: z.boolean(),
      /** Length of the rolling window the triggers are computed over. */
      windowMs: positiveInt,
      /** How often the window is evaluated. */
      checkIntervalMs: positiveInt,
      /** Requests a window needs before the rate triggers count. */
      minRequests: positiveInt,
      /** Error rate (server-side failures over answered requests) above which the guard acts. */
      errorRate: z.number().gt(0).lt(1),
      /** p95 above this multiple of the baseline p95 (learned while healthy) triggers. */
      p95Multiplier: z.number().gt(1),
      /** Process RSS above this share of the memory limit (Metrics.memoryLimitBytes, cgroup, or RAM). */
      memoryRatio: z.number().gt(0).lt(1),
      /** Cache hit rate (over cacheable lookups) below this triggers. */
      cacheHitRateMin: z.number().min(0).lt(1),
      /** A feature changed at runtime this recently is the first suspect for any trigger. */
      recentChangeMs: positiveInt,
    }),
  }),
  // Shadow runs (docs/shadow.md): mirror a share of requests to another target or feature setting and compare.
  Shadow: z.object({
    enabled: z.boolean(),
    /** Share of eligible requests mirrored, 0–1. */
    share: z.number().min(0).max(1),
    /** Target the copy goes to ("provider,model"); absent = the primary's routed target. */
    target: target.optional(),
    /** Feature flags changed for the copy (e.g. `{ "cache": false }`). */
    features: z.record(z.string(), z.boolean()),
    /** Shadow calls running at once; past it new copies are dropped (shadow traffic is dropped first). */
    maxConcurrent: positiveInt,
    /** A copy is dropped while the event loop lags more than this (ms) or primary requests are queuing. */
    maxLagMs: positiveInt,
    /** Comparisons kept for `GET /api/shadow`. */
    keep: positiveInt,
    /** A shadow call is abandoned after this long. */
    timeoutMs: positiveInt,
  }),
  // Hot reload (docs/configuration.md#hot-reload): the user config file is watched and valid changes swapped in.
  Reload: z.object({
    watch: z.boolean(),
    /** Changes closer together than this are applied once. */
    debounceMs: nonNegativeInt,
  }),
  // Request history in SQLite (docs/observability.md): one row per request, written off the hot path.
  History: z
    .object({
      enabled: z.boolean(),
      /** SQLite file (`~/` = the user's home; relative = from the working directory) or `:memory:`. */
      path: z.string().min(1),
      /** Rows older than this many days are pruned. */
      retentionDays: z.number().positive(),
      pruneIntervalMs: positiveInt,
      /** Rows per transaction; a full batch is written at once, a partial one every `flushIntervalMs`. */
      batchSize: positiveInt,
      flushIntervalMs: positiveInt,
      /** Rows waiting to be written; past it new rows are dropped (and counted), requests never wait. */
      maxQueue: positiveInt,
      /** How long a write waits for another process's lock before the batch counts as failed and is retried. */
      busyTimeoutMs: nonNegativeInt,
      /** Seed the adaptive first-byte deadlines from the last rows per target at boot. */
      seedTimeouts: z.boolean(),
    })
    .refine((h) => h.batchSize <= h.maxQueue, {
      message: 'must not exceed History.maxQueue',
      path: ['batchSize'],
    }),
});

export type SwitchyardConfig = z.infer<typeof configSchema>;
export type ProviderSettings = z.infer<typeof providerSchema>;

/** Top-level keys this version understands; any other key gets one warning at boot. */
export const KNOWN_TOP_LEVEL_KEYS = new Set(Object.keys(configSchema.shape));

/** CCR keys that are accepted for compatibility but have no effect in Switchyard (one warning each). */
export const IGNORED_CCR_KEYS = new Set([
  'NON_INTERACTIVE_MODE',
  'StatusLine',
  'CLAUDE_PATH',
  'forceUseImageAgent',
  'LOG_FILE',
]);
