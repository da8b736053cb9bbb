import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { RequestOutcomeService, type RequestOutcome } from '../common/request-outcome';
import { AppConfigService } from '../config/config.service';
import { BUCKETS, type FastHistogram } from './fast-histogram';
import { MetricsRegistry } from './metrics.registry';
import { outcomeClass, splitTarget } from './outcome-class';

const TOKEN_TYPES = [
  ['input', 'input_tokens'],
  ['output', 'output_tokens'],
  ['cache_read', 'cache_read_input_tokens'],
  ['cache_creation', 'cache_creation_input_tokens'],
] as const;

/**
 * Request-level metrics, one update per finished request (RequestOutcome): counts, durations, TTFB, gateway
 * overhead, queue wait and tokens. Labels: route, status, outcome, stream, cache, class, provider, model.
 */
@Injectable()
export class RequestMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly requests: Counter<string>;
  private readonly duration: FastHistogram;
  private readonly ttfb: FastHistogram;
  private readonly overhead: FastHistogram;
  private readonly queueWait: FastHistogram;
  private readonly tokens: Counter<string>;
  private readonly saved: Counter<string>;
  private unsubscribe?: () => void;

  constructor(
    m: MetricsRegistry,
    private readonly outcomes: RequestOutcomeService,
    private readonly config: AppConfigService,
  ) {
    this.requests = m.counter(
      'switchyard_requests_total',
      'Finished client requests on /v1/messages and /v1/chat/completions, by route, HTTP status and outcome (success, client_error, client_abort, upstream_error, gateway_error).',
      ['route', 'status', 'outcome'],
    );
    this.duration = m.histogram(
      'switchyard_request_duration_seconds',
      'Client request duration, arrival to the last byte (or the error), by route and HTTP status.',
      ['route', 'status'],
      BUCKETS.request,
    );
    this.ttfb = m.histogram(
      'switchyard_request_ttfb_seconds',
      'Time to the first byte written to the client for successful answers (a JSON answer: the whole body), by route, stream and cache result. The SLA latency.',
      ['route', 'stream', 'cache'],
      BUCKETS.firstByte,
    );
    this.overhead = m.histogram(
      'switchyard_gateway_overhead_seconds',
      'What the gateway adds to a request that called upstream: total duration minus upstream time (routing, cache lookup, queue wait, egress).',
      ['route'],
      BUCKETS.overhead,
    );
    this.queueWait = m.histogram(
      'switchyard_queue_wait_seconds',
      'Time upstream work waited in its priority class before it started, by class.',
      ['class'],
      BUCKETS.queue,
    );
    this.tokens = m.counter(
      'switchyard_tokens_total',
      'Tokens of answers produced by their own upstream call, by provider, model and type (input, output, cache_read, cache_creation).',
      ['provider', 'model', 'type'],
    );
    this.saved = m.counter(
      'switchyard_tokens_saved_total',
      'Tokens of answers served without an upstream call of their own, by what served them (cache, dedup) and type.',
      ['by', 'type'],
    );
  }

  onModuleInit(): void {
    if (this.config.get('Metrics').enabled) {
      this.unsubscribe = this.outcomes.subscribe((o) => this.record(o));
    }
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  record(o: RequestOutcome): void {
    const cls = outcomeClass(o);
    const status = String(o.status);
    this.requests.inc({ route: o.route, status, outcome: cls });
    this.duration.observe(o.durationMs / 1000, o.route, status);
    if (cls === 'success' && o.ttfbMs !== undefined) {
      this.ttfb.observe(o.ttfbMs / 1000, o.route, o.stream ? 'true' : 'false', o.cache ?? 'none');
    }
    if (o.upstreamMs !== undefined) {
      this.overhead.observe(Math.max(0, o.durationMs - o.upstreamMs) / 1000, o.route);
    }
    if (o.queueClass && o.queueWaitMs !== undefined) {
      this.queueWait.observe(o.queueWaitMs / 1000, o.queueClass);
    }
    if (o.usage) {
      this.countTokens(o);
    }
  }

  private countTokens(o: RequestOutcome): void {
    const usage = o.usage ?? {};
    const by = o.cache === 'HIT' ? 'cache' : o.dedup === 'follower' ? 'dedup' : undefined;
    const [provider, model] = splitTarget(o.target);
    for (const [type, field] of TOKEN_TYPES) {
      const n = usage[field];
      if (typeof n !== 'number' || n <= 0) {
        continue;
      }
      if (by) {
        this.saved.inc({ by, type }, n);
      } else {
        this.tokens.inc({ provider, model, type }, n);
      }
    }
  }
}
