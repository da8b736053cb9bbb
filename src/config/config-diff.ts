import { isDeepStrictEqual } from 'node:util';
import type { SwitchyardConfig } from './config.schema';

/**
 * Settings a running gateway cannot take over without a restart: they size or open something once at boot
 * (the listening socket, Fastify's body limit, pino, the Redis and BullMQ connections, the request-history
 * worker, the OpenTelemetry exporter, Prometheus collectors, @fastify/compress, the memory cache tier…).
 * A reload keeps their running values and reports a change to them as `restartRequired`.
 * `*` matches any one key (a queue class).
 */
export const RESTART_REQUIRED: readonly string[] = [
  'HOST',
  'PORT',
  'Server.bodyLimit',
  'Server.idleGcMb',
  'LOG',
  'LOG_LEVEL',
  'Logging',
  'Redis',
  'Tracing',
  'History',
  'Metrics',
  'JobQueue.enabled',
  'JobQueue.role',
  'JobQueue.redis',
  'JobQueue.prefix',
  'JobQueue.queues.*.concurrency',
  'JobQueue.workerLostMs',
  'JobQueue.slotLeaseMs',
  'JobQueue.scheduled',
  'Compression.enabled',
  'Compression.threshold',
  'Compression.level',
  'Compression.encodings',
  'Cache.maxMemoryBytes',
  'Cache.snapshotPath',
  'Dedup.crossInstance',
  'AdaptiveTimeout.historyPath',
  'Batches.enabled',
  'Batches.expiresAfterSec',
  'Batches.retainSec',
];

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of a JSON value (plain objects, arrays, primitives) made in this realm, so deep equality holds. */
function cloneJson<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.map(cloneJson) as T;
  }
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cloneJson(v)])) as T;
  }
  return value;
}

/** Top-level keys whose value differs (deeply) between two configurations, sorted. */
export function changedKeys(previous: SwitchyardConfig, next: SwitchyardConfig): string[] {
  const keys = new Set([...Object.keys(previous), ...Object.keys(next)]);
  return [...keys].filter((k) => !isDeepStrictEqual((previous as Json)[k], (next as Json)[k])).sort();
}

function valueAt(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const part of path) {
    if (!isObject(cur)) {
      return undefined;
    }
    cur = cur[part];
  }
  return cur;
}

/** The concrete paths a pattern names in either configuration (`*` expanded over the keys of both). */
function expand(pattern: string, a: unknown, b: unknown): string[][] {
  let paths: string[][] = [[]];
  for (const part of pattern.split('.')) {
    const nextPaths: string[][] = [];
    for (const path of paths) {
      if (part !== '*') {
        nextPaths.push([...path, part]);
        continue;
      }
      const keys = new Set<string>();
      for (const side of [valueAt(a, path), valueAt(b, path)]) {
        if (isObject(side)) {
          Object.keys(side).forEach((k) => keys.add(k));
        }
      }
      [...keys].sort().forEach((k) => nextPaths.push([...path, k]));
    }
    paths = nextPaths;
  }
  return paths;
}

/** The restart-only settings (concrete dot paths) whose value differs between the two configurations. */
export function restartRequiredChanges(
  running: SwitchyardConfig,
  next: SwitchyardConfig,
  patterns: readonly string[] = RESTART_REQUIRED,
): string[] {
  const out: string[] = [];
  for (const pattern of patterns) {
    for (const path of expand(pattern, running, next)) {
      if (!isDeepStrictEqual(valueAt(running, path), valueAt(next, path))) {
        out.push(path.join('.'));
      }
    }
  }
  return out;
}

/**
 * `next` with every restart-only setting put back to its running value (a copy; neither input changes), so
 * that what readers see is what the process really runs with.
 */
export function keepRunningValues(
  running: SwitchyardConfig,
  next: SwitchyardConfig,
  patterns: readonly string[] = RESTART_REQUIRED,
): SwitchyardConfig {
  const out = cloneJson(next) as Json;
  for (const pattern of patterns) {
    for (const path of expand(pattern, running, next)) {
      const value = valueAt(running, path);
      let parent: Json = out;
      for (const part of path.slice(0, -1)) {
        if (!isObject(parent[part])) {
          parent[part] = {};
        }
        parent = parent[part] as Json;
      }
      const last = path[path.length - 1];
      if (value === undefined) {
        delete parent[last];
      } else {
        parent[last] = cloneJson(value);
      }
    }
  }
  return out as SwitchyardConfig;
}

/**
 * What a reload makes stale in state learned per target ("provider,model"): every `known` target (and every
 * configured model) of a provider that was removed or whose endpoint, key or headers changed — that state was
 * about the old upstream — and the removed models of a provider that stayed. `providers`: the lowercased names
 * of the providers removed or changed.
 */
export function staleTargets(
  previous: SwitchyardConfig,
  next: SwitchyardConfig,
  known: Iterable<string>,
): { targets: string[]; providers: string[] } {
  const after = new Map(next.Providers.map((p) => [p.name.toLowerCase(), p]));
  const all = [...known];
  const targets = new Set<string>();
  const providers: string[] = [];
  for (const before of previous.Providers) {
    const name = before.name.toLowerCase();
    const now = after.get(name);
    const same =
      now !== undefined &&
      now.api_base_url === before.api_base_url &&
      now.api_key === before.api_key &&
      isDeepStrictEqual(now.headers, before.headers);
    if (!same) {
      providers.push(name);
    }
    const kept = same ? new Set(now.models) : new Set<string>();
    for (const t of [...all, ...before.models.map((m) => `${before.name},${m}`)]) {
      const comma = t.indexOf(',');
      if (t.slice(0, Math.max(0, comma)).toLowerCase() === name && !kept.has(t.slice(comma + 1))) {
        targets.add(t);
      }
    }
  }
  return { targets: [...targets], providers };
}
