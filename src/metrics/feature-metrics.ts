import { Injectable } from '@nestjs/common';
import { CacheService } from '../cache/cache.service';
import { RequestArrivalHook } from '../common/request-arrival.hook';
import { CompressionStatsService } from '../compression/compression-stats.service';
import { DedupService } from '../dedup/dedup.service';
import { FailoverCounters } from '../failover/failover-counters';
import { egressCounters } from '../gateway/egress-writer';
import { RateLimitService } from '../ratelimit/rate-limit.service';
import { MetricsRegistry, type Sample } from './metrics.registry';

const TIERS = ['memory', 'redis'] as const;

/**
 * The speed features' own running totals, exported as Prometheus counters at scrape time (the hot path
 * keeps its plain increments): cache, dedup, rate limits, egress backpressure, compression.
 */
@Injectable()
export class FeatureMetrics {
  constructor(
    m: MetricsRegistry,
    cache: CacheService,
    dedup: DedupService,
    limits: RateLimitService,
    failover: FailoverCounters,
    compression: CompressionStatsService,
    arrivals: RequestArrivalHook,
  ) {
    // ── cache ──
    m.bridgedCounter(
      'switchyard_cache_lookups_total',
      'Response cache lookups by result (hit, miss): a request looks once, memory then Redis.',
      ['result'],
      () => {
        const s = cache.stats();
        return [
          [{ result: 'hit' }, s.hits],
          [{ result: 'miss' }, s.misses],
        ];
      },
    );
    const perTier = (what: 'hits' | 'misses' | 'stores') => (): Sample[] => {
      const t = cache.tierCounts()[what];
      return TIERS.map((tier): Sample => [{ tier }, t[tier]]);
    };
    m.bridgedCounter(
      'switchyard_cache_hits_total',
      'Cache hits by the tier that answered (memory, redis).',
      ['tier'],
      perTier('hits'),
    );
    m.bridgedCounter(
      'switchyard_cache_misses_total',
      'Cache misses per tier (a lookup that reaches Redis after a memory miss counts at both).',
      ['tier'],
      perTier('misses'),
    );
    m.bridgedCounter(
      'switchyard_cache_stores_total',
      'Answers stored, per tier that took them.',
      ['tier'],
      perTier('stores'),
    );
    m.bridgedCounter(
      'switchyard_cache_errors_total',
      'Cache reads, writes or decodes that failed (the request went on without the cache).',
      [],
      () => [[{}, cache.stats().errors]],
    );
    m.computedGauge(
      'switchyard_cache_memory_bytes',
      'Bytes held by the memory tier of the response cache.',
      [],
      () => [[{}, cache.memory.bytes]],
    );
    m.computedGauge(
      'switchyard_cache_memory_entries',
      'Entries in the memory tier of the response cache.',
      [],
      () => [[{}, cache.memory.entries]],
    );

    // ── dedup ──
    m.bridgedCounter(
      'switchyard_dedup_requests_total',
      'Coalesced requests by role: leader (made the upstream call), follower (shared an identical in-flight one).',
      ['role'],
      () => {
        const s = dedup.stats();
        return [
          [{ role: 'leader' }, s.leaders],
          [{ role: 'follower' }, s.followers],
        ];
      },
    );
    m.bridgedCounter(
      'switchyard_dedup_cross_instance_followers_total',
      'Followers served by a leader on another instance (through Redis).',
      [],
      () => [[{}, dedup.stats().crossInstanceFollowers]],
    );
    m.bridgedCounter(
      'switchyard_dedup_detached_total',
      'Dedup subscribers detached for falling too far behind the shared answer.',
      [],
      () => [[{}, dedup.stats().detachedSlow]],
    );
    m.bridgedCounter(
      'switchyard_dedup_takeovers_total',
      "Upstream calls made because another instance's leader went away mid-answer.",
      [],
      () => [[{}, dedup.stats().takeovers]],
    );
    m.computedGauge('switchyard_dedup_in_flight', 'Shared answers in flight in this process.', [], () => [
      [{}, dedup.stats().inFlight],
    ]);

    // ── rate limits ──
    m.bridgedCounter(
      'switchyard_ratelimit_rejections_total',
      'Rate-limit refusals: scope client (429 to the client; limit requests or tokens), scope provider (target skipped for its RPM/TPM).',
      ['scope', 'limit'],
      () => {
        const r = limits.rejections();
        const provider = failover
          .labelled('attempts')
          .filter((s) => s.labels.outcome === 'skipped' && s.labels.reason === 'rate_limited')
          .reduce((n, s) => n + s.value, 0);
        return [
          [{ scope: 'client', limit: 'requests' }, r.requests],
          [{ scope: 'client', limit: 'tokens' }, r.tokens],
          [{ scope: 'provider', limit: 'rpm_tpm' }, provider],
        ];
      },
    );

    // ── egress ──
    m.bridgedCounter(
      'switchyard_egress_backpressure_pauses_total',
      "Times a stream waited for a slow client's socket to drain before pulling more from upstream.",
      [],
      () => [[{}, egressCounters().backpressurePauses]],
    );
    m.bridgedCounter(
      'switchyard_egress_stalled_clients_total',
      'Streams cut because the client read nothing for Server.stalledClientMs.',
      [],
      () => [[{}, egressCounters().stalledClients]],
    );

    // ── admission (loop-turn gate) ──
    const lanes = { requests: () => arrivals.admission(), answers: () => arrivals.answerAdmission() };
    m.bridgedCounter(
      'switchyard_admission_requests_total',
      'Work through the loop-turn admission gate by lane (requests: model requests started; answers: first writes of answers), started at once (direct), in a later event-loop turn (deferred), or turned away with a 503 because the line was full (rejected).',
      ['lane', 'path'],
      () =>
        Object.entries(lanes).flatMap(([lane, stats]): Sample[] => {
          const a = stats();
          return [
            [{ lane, path: 'direct' }, a.direct],
            [{ lane, path: 'deferred' }, a.deferred],
            [{ lane, path: 'rejected' }, a.rejected],
          ];
        }),
    );
    m.computedGauge(
      'switchyard_admission_waiting',
      'Work waiting in the admission gate for a later event-loop turn, by lane.',
      ['lane'],
      () => Object.entries(lanes).map(([lane, stats]): Sample => [{ lane }, stats().waiting]),
    );

    // ── compression ──
    m.bridgedCounter(
      'switchyard_compression_bytes_total',
      'Response bytes through the compressors, by encoding and direction (in: raw, out: compressed).',
      ['encoding', 'direction'],
      () =>
        Object.entries(compression.snapshot().byEncoding).flatMap(([encoding, c]): Sample[] => [
          [{ encoding, direction: 'in' }, c.rawBytes],
          [{ encoding, direction: 'out' }, c.compressedBytes],
        ]),
    );
    m.bridgedCounter(
      'switchyard_compressed_responses_total',
      'Compressed responses (JSON bodies and SSE streams), by encoding.',
      ['encoding'],
      () =>
        Object.entries(compression.snapshot().byEncoding).map(([encoding, c]): Sample => [
          { encoding },
          c.responses,
        ]),
    );
  }
}
