import type { SectionResult, StatusReport } from './status-command';

type Json = Record<string, any>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function bytes(n: unknown): string {
  if (typeof n !== 'number') {
    return '-';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

const percent = (v: unknown): string => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '-');
const ms = (v: unknown): string => (typeof v === 'number' ? `${Math.round(v)}` : '-');

function duration(seconds: number | undefined): string {
  if (seconds === undefined) {
    return '?';
  }
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
}

/** `key value, key value` of an indicator's scalar fields (new indicators render without code changes). */
function scalars(obj: Json, skip: string[] = []): string {
  return Object.entries(obj)
    .filter(([k, v]) => !skip.includes(k) && k !== 'status' && (v === null || typeof v !== 'object'))
    .map(([k, v]) => `${k} ${v === null ? '-' : String(v)}`)
    .join(', ');
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i])).join('  ')}`.trimEnd());
}

function healthLines(ready: SectionResult | undefined): string[] {
  const details = (ready?.body as Json | undefined)?.details;
  if (!isObject(details)) {
    return [`  (not available: ${ready?.error ?? 'no answer'})`];
  }
  const lines: string[] = [];
  for (const [name, raw] of Object.entries(details)) {
    const d = isObject(raw) ? raw : {};
    let text: string;
    if (name === 'providers' && isObject(d.slots)) {
      text = Object.entries(d.slots)
        .map(([slot, s]) => {
          const healthy = (s?.healthy ?? []) as string[];
          const unhealthy = (s?.unhealthy ?? []) as string[];
          return `${slot}: ${healthy.join(' ') || '(none healthy)'}${unhealthy.length ? ` [down: ${unhealthy.join(' ')}]` : ''}`;
        })
        .join('; ');
    } else if (name === 'redis' && isObject(d.subsystems)) {
      const subsystems = Object.entries(d.subsystems)
        .map(([k, v]) => `${k} ${String(v)}`)
        .join(', ');
      text = `mode ${String(d.mode)} (${subsystems})`;
    } else {
      text = scalars(d);
    }
    lines.push(`  ${name.padEnd(10)} ${String(d.status ?? '?').padEnd(5)} ${text}`.trimEnd());
  }
  return lines;
}

function unavailable(result: SectionResult | undefined): string[] | undefined {
  if (result?.ok && isObject(result.body)) {
    return undefined;
  }
  if (result?.status === 404 && JSON.stringify(result.body ?? '').includes('worker')) {
    return ['  (not served by a worker node)'];
  }
  return [`  (not available: ${result?.error ?? 'no answer'})`];
}

function providerLines(result: SectionResult | undefined): string[] {
  const missing = unavailable(result);
  if (missing) {
    return missing;
  }
  const targets = ((result?.body as Json).targets ?? []) as Json[];
  if (targets.length === 0) {
    return ['  (no providers configured)'];
  }
  const rows = [
    ['TARGET', 'HEALTHY', 'SCORE', 'CIRCUIT', 'TTFB p50/p95 ms', 'SUCCESS', 'SAMPLES', 'LAST ERROR'],
  ];
  for (const t of targets) {
    const stats = isObject(t.stats) ? t.stats : {};
    const ttfb = isObject(t.ttfb) ? t.ttfb : {};
    const lastError = isObject(stats.lastError)
      ? String(stats.lastError.kind ?? stats.lastError.message ?? 'error')
      : typeof stats.lastError === 'string'
        ? stats.lastError
        : '-';
    rows.push([
      String(t.target),
      t.healthy ? 'yes' : 'no',
      typeof t.score === 'number' ? t.score.toFixed(2) : '-',
      String(t.circuit?.state ?? '-'),
      `${ms(ttfb.p50)}/${ms(ttfb.p95)}`,
      percent(stats.successRate),
      String(stats.samples ?? '-'),
      lastError,
    ]);
  }
  const counters = (result?.body as Json).counters;
  const extra =
    isObject(counters) && Object.keys(counters).length ? [`  counters: ${scalars(counters)}`] : [];
  return [...table(rows), ...extra];
}

function cacheLines(result: SectionResult | undefined): string[] {
  const missing = unavailable(result);
  if (missing) {
    return missing;
  }
  const c = result?.body as Json;
  const memory = isObject(c.tiers?.memory) ? c.tiers.memory : {};
  const redis = isObject(c.tiers?.redis) ? c.tiers.redis : {};
  return [
    `  hits ${c.hits}, misses ${c.misses} (hit rate ${percent(c.hitRate)}), stores ${c.stores}, errors ${c.errors}`,
    `  memory ${memory.entries ?? '-'} entries, ${bytes(memory.bytes)} of ${bytes(memory.maxBytes)}; ` +
      `redis ${redis.mode ?? '-'}${typeof redis.entries === 'number' ? `, ${redis.entries} entries` : ''}`,
  ];
}

function queueLines(result: SectionResult | undefined): string[] {
  const missing = unavailable(result);
  if (missing) {
    return missing;
  }
  const q = result?.body as Json;
  const lines = [
    `  mode ${q.mode}, role ${q.role}, instance ${q.instance} (${q.instances} instance${q.instances === 1 ? '' : 's'}), relayed in flight ${q.relayedInFlight ?? 0}`,
  ];
  if (isObject(q.depth)) {
    for (const [cls, depth] of Object.entries(q.depth)) {
      lines.push(`  ${cls.padEnd(12)} ${isObject(depth) ? scalars(depth) : String(depth)}`);
    }
  }
  if (isObject(q.providerSlots) && Object.keys(q.providerSlots).length) {
    lines.push(`  provider slots: ${JSON.stringify(q.providerSlots)}`);
  }
  return lines;
}

/** The human form of `switchyard status`. */
export function renderStatus(report: StatusReport): string {
  const state = report.ready ? 'ready' : 'NOT READY';
  const lines = [
    `Switchyard at ${report.url}: ${state} (pid ${report.pid ?? '?'}, up ${duration(report.uptimeSeconds)})`,
    '',
    'health',
    ...healthLines(report.sections.ready),
    '',
    'providers',
    ...providerLines(report.sections.providers),
    '',
    'cache',
    ...cacheLines(report.sections.cache),
    '',
    'queue',
    ...queueLines(report.sections.queue),
  ];
  return `${lines.join('\n')}\n`;
}
