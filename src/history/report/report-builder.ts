import type { HistoryRow } from '../history.types';
import { percentiles } from '../percentile';
import type {
  HistoryReport,
  ModelReport,
  ReportCounts,
  ReportSummary,
  TimelineBucket,
  TokenTotals,
} from './report.types';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Bucket sizes tried in order; the first that gives at most MAX_BUCKETS over the period is used. */
const BUCKET_SIZES = [5 * MINUTE, 15 * MINUTE, HOUR, 6 * HOUR, DAY, 7 * DAY, 30 * DAY];
const MAX_BUCKETS = 48;
const ABORT = 'client_abort';

/** Timeline granularity for a period: a day in hours, a week in 6-hour steps, a month in days. */
export function bucketSizeFor(spanMs: number): number {
  return BUCKET_SIZES.find((size) => spanMs / size <= MAX_BUCKETS) ?? BUCKET_SIZES[BUCKET_SIZES.length - 1];
}

const rate = (n: number, d: number): number | null => (d > 0 ? n / d : null);

/** Rows accumulated for one group (the period or one model); samples are kept only as numbers. */
class Group {
  requests = 0;
  succeeded = 0;
  errors = 0;
  failures = 0;
  cacheHits = 0;
  cacheMisses = 0;
  failovers = 0;
  requestsWithFailover = 0;
  readonly durations: number[] = [];
  readonly ttfbs: number[] = [];
  readonly tokens: TokenTotals = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0, total: 0 };

  add(row: HistoryRow): void {
    this.requests++;
    if (row.errorType === null) {
      this.succeeded++;
      this.durations.push(row.durationMs);
      if (row.ttfbMs !== null) {
        this.ttfbs.push(row.ttfbMs);
      }
    } else if (row.errorType !== ABORT) {
      this.errors++;
    }
    if (row.errorSource === 'gateway' || row.errorSource === 'upstream') {
      this.failures++;
    }
    if (row.cache === 'HIT') {
      this.cacheHits++;
    } else if (row.cache === 'MISS') {
      this.cacheMisses++;
    }
    this.failovers += row.failovers;
    if (row.failovers > 0) {
      this.requestsWithFailover++;
    }
    const t = this.tokens;
    t.input += row.inputTokens ?? 0;
    t.output += row.outputTokens ?? 0;
    t.cacheRead += row.cacheReadTokens ?? 0;
    t.cacheCreation += row.cacheCreationTokens ?? 0;
    t.total = t.input + t.output + t.cacheRead + t.cacheCreation;
  }

  counts(): ReportCounts {
    return {
      requests: this.requests,
      succeeded: this.succeeded,
      errors: this.errors,
      errorRate: rate(this.errors, this.requests),
      failures: this.failures,
      failureRate: rate(this.failures, this.requests),
      cacheHits: this.cacheHits,
      cacheMisses: this.cacheMisses,
      cacheHitRate: rate(this.cacheHits, this.cacheHits + this.cacheMisses),
      failovers: this.failovers,
      requestsWithFailover: this.requestsWithFailover,
      latencyMs: percentiles(this.durations),
      ttfbMs: percentiles(this.ttfbs),
      tokens: { ...this.tokens },
    };
  }
}

interface BucketAcc {
  requests: number;
  errors: number;
  failures: number;
  durations: number[];
}

/**
 * Builds the report of one period from its rows, fed one at a time (a month of rows is streamed from
 * SQLite; only latency numbers are kept). Percentiles are nearest-rank, as everywhere in the gateway.
 */
export class ReportBuilder {
  private readonly all = new Group();
  private readonly models = new Map<string, Group>();
  private readonly errors = new Map<
    string,
    { errorType: string; errorSource: string | null; count: number }
  >();
  private readonly scenarios = new Map<string, number>();
  private readonly buckets: BucketAcc[];
  private readonly bucketMs: number;
  private readonly firstBucket: number;
  private clientErrors = 0;
  private aborts = 0;
  private dedupFollowers = 0;
  private streamed = 0;
  private attempts = 0;

  constructor(
    private readonly since: number,
    private readonly until: number,
  ) {
    this.bucketMs = bucketSizeFor(until - since);
    this.firstBucket = Math.floor(since / this.bucketMs) * this.bucketMs;
    const count = Math.max(1, Math.ceil((until - this.firstBucket) / this.bucketMs));
    this.buckets = Array.from({ length: count }, () => ({
      requests: 0,
      errors: 0,
      failures: 0,
      durations: [],
    }));
  }

  add(row: HistoryRow): void {
    if (row.ts < this.since || row.ts >= this.until) {
      return;
    }
    this.all.add(row);
    const model = row.target ?? row.clientModel ?? '(unrouted)';
    let group = this.models.get(model);
    if (!group) {
      group = new Group();
      this.models.set(model, group);
    }
    group.add(row);
    if (row.errorType === ABORT) {
      this.aborts++;
    } else if (row.errorSource === 'client') {
      this.clientErrors++;
    }
    if (row.errorType !== null) {
      const key = `${row.errorType}\u0000${row.errorSource ?? ''}`;
      const e = this.errors.get(key) ?? { errorType: row.errorType, errorSource: row.errorSource, count: 0 };
      e.count++;
      this.errors.set(key, e);
    }
    const scenario = row.scenario ?? '(none)';
    this.scenarios.set(scenario, (this.scenarios.get(scenario) ?? 0) + 1);
    if (row.dedup === 'follower') {
      this.dedupFollowers++;
    }
    if (row.stream) {
      this.streamed++;
    }
    this.attempts += row.attempts;
    const b =
      this.buckets[
        Math.min(this.buckets.length - 1, Math.floor((row.ts - this.firstBucket) / this.bucketMs))
      ];
    b.requests++;
    if (row.errorType === null) {
      b.durations.push(row.durationMs);
    } else if (row.errorType !== ABORT) {
      b.errors++;
    }
    if (row.errorSource === 'gateway' || row.errorSource === 'upstream') {
      b.failures++;
    }
  }

  build(source: string, generatedAt = new Date()): HistoryReport {
    const counts = this.all.counts();
    const summary: ReportSummary = {
      ...counts,
      availability: counts.failureRate === null ? null : 1 - counts.failureRate,
      clientErrors: this.clientErrors,
      aborts: this.aborts,
      dedupFollowers: this.dedupFollowers,
      streamed: this.streamed,
      attempts: this.attempts,
    };
    const models: ModelReport[] = [...this.models]
      .map(([model, g]) => ({ model, ...g.counts() }))
      .sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model));
    const buckets: TimelineBucket[] = this.buckets.map((b, i) => ({
      start: new Date(this.firstBucket + i * this.bucketMs).toISOString(),
      requests: b.requests,
      errors: b.errors,
      failures: b.failures,
      p95Ms: percentiles(b.durations).p95,
    }));
    return {
      generatedAt: generatedAt.toISOString(),
      period: { since: new Date(this.since).toISOString(), until: new Date(this.until).toISOString() },
      source,
      summary,
      models,
      errors: [...this.errors.values()].sort(
        (a, b) => b.count - a.count || a.errorType.localeCompare(b.errorType),
      ),
      scenarios: [...this.scenarios]
        .map(([scenario, requests]) => ({ scenario, requests }))
        .sort((a, b) => b.requests - a.requests || a.scenario.localeCompare(b.scenario)),
      timeline: { bucketMs: this.bucketMs, buckets },
    };
  }
}

/** The report of `rows` over [since, until). */
export function buildReport(
  rows: Iterable<HistoryRow>,
  since: number,
  until: number,
  source: string,
  generatedAt?: Date,
): HistoryReport {
  const builder = new ReportBuilder(since, until);
  for (const row of rows) {
    builder.add(row);
  }
  return builder.build(source, generatedAt);
}
