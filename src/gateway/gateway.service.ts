import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { CacheService } from '../cache/cache.service';
import { cacheKey as canonicalCacheKey } from '../cache/canonical-key';
import { cacheHeaderValue } from '../cache/cache-policy';
import type { CacheHeaderValue, CachePolicy } from '../cache/cache.types';
import { AffinityService } from '../affinity/affinity.service';
import { tapEach, type EventIterator } from '../common/event-iterators';
import type { UsageListener } from '../common/request-hooks';
import type { RequestObservation } from '../common/request-observation';
import { AppConfigService } from '../config/config.service';
import { DedupService } from '../dedup/dedup.service';
import type { DedupRole } from '../dedup/dedup.types';
import type { AttemptRecord } from '../failover/failover.service';
import { ALL_FEATURES_ON, type FeatureSet } from '../features/feature-set';
import {
  UpstreamCallService,
  forwardedHeaders,
  prepend,
  type UpstreamJob,
} from '../failover/upstream-call.service';
import { QueueService } from '../queue/queue.service';
import { GatewayError, statusForErrorType } from '../protocol/errors';
import { countRequestTokens } from '../protocol/tokens';
import type { CanonicalRequest, StreamEvent, Usage } from '../protocol/types';
import type { Target } from '../providers/provider.types';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import type { QueueClass } from '../queue/queue.types';
import { RoutingService, type RoutedRequest } from '../routing/routing.service';
import { joinedAs, looked, routed } from '../tracing/gateway-spans';
import { SPAN } from '../tracing/span-names';
import { TracingService } from '../tracing/tracing.service';
import { ABORTED, AttemptDeadline } from '../timeout/deadline';
import { TimeoutPolicyService } from '../timeout/timeout-policy.service';

export interface GatewayAnswer {
  route: RoutedRequest;
  /** "provider,model" that is serving the answer. */
  target: string;
  /** Events already pulled (the first one), to be written before the rest. */
  head: StreamEvent[];
  events: AsyncIterator<StreamEvent>;
  cache: CacheHeaderValue;
  dedup?: DedupRole;
  attempts: AttemptRecord[];
}

export interface OpenOptions {
  headers: Record<string, string | string[] | undefined>;
  signal: AbortSignal;
  requestId: string;
  /** Set by CacheInterceptor; read from the headers when absent. */
  cachePolicy?: CachePolicy;
  /** The key the client presented (for Cache.partitionByKey). */
  clientKey?: string;
  /** Called once the route is known, before any upstream work (response headers on errors too). */
  onRouted?: (route: RoutedRequest) => void;
  /** Called once with the answer's final usage (cache hits too), when the answer completed. */
  onUsage?: UsageListener;
  /** The request's priority class (default: classified from the route and headers). */
  queueClass?: QueueClass;
  /** Already running inside a queue worker: call upstream here, do not enqueue again. */
  direct?: boolean;
  /** Where the request's timings are noted for its RequestOutcome (queue wait, upstream start, last event). */
  observation?: RequestObservation;
  /** Replaces the routed target and drops its fallbacks (a shadow copy's trial target, "provider,model"). */
  targetOverride?: string;
  /**
   * A shadow copy (docs/shadow.md): it never writes the cache nor joins an identical in-flight request (it
   * would replay the primary), leaves nothing in session memory or affinity, and takes a provider slot only
   * after everyone else and without waiting for one.
   */
  shadow?: boolean;
  /** The request's feature flags (docs/features.md; default all on), on top of each feature's own switch. */
  features?: FeatureSet;
}

/** The request's `cache` feature is off: the cache is neither read nor written (`x-switchyard-cache: BYPASS`). */
const CACHE_OFF: CachePolicy = { read: false, write: false };

/** Below every JobQueue class (their priorities start at 1): a shadow copy never takes a slot first. */
const SHADOW_SLOT_PRIORITY = 0;
/** Long enough for one Redis round trip of the cluster-wide slot line, too short to queue behind anyone. */
const SHADOW_SLOT_WAIT_MS = 50;

const totalInput = (u: Partial<Usage> | undefined): number =>
  (u?.input_tokens ?? 0) + (u?.cache_read_input_tokens ?? 0) + (u?.cache_creation_input_tokens ?? 0);

/**
 * The request path after ingress: route → cache lookup → coalesce identical in-flight requests → failover
 * along the target chain → record the answer for the cache. Everything before the first event is retriable
 * and reported as an HTTP error; the caller commits (writes the first byte) afterwards.
 */
@Injectable()
export class GatewayService {
  constructor(
    private readonly routing: RoutingService,
    private readonly providers: ProviderRegistryService,
    private readonly cache: CacheService,
    private readonly dedup: DedupService,
    private readonly upstream: UpstreamCallService,
    private readonly affinity: AffinityService,
    private readonly queue: QueueService,
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
    private readonly tracing: TracingService,
    private readonly timeouts: TimeoutPolicyService,
  ) {
    this.logger.setContext('gateway');
  }

  async open(request: CanonicalRequest, opts: OpenOptions): Promise<GatewayAnswer> {
    const decided = await this.tracing.span(SPAN.route, async (span) =>
      routed(span, await this.routing.route(request, opts.headers)),
    );
    const route = opts.targetOverride ? { ...decided, target: opts.targetOverride, fallbacks: [] } : decided;
    opts.onRouted?.(route);
    const features = opts.features ?? ALL_FEATURES_ON;
    const asked = features.cache ? (opts.cachePolicy ?? this.cache.policyFor(opts.headers)) : CACHE_OFF;
    const policy = opts.shadow ? { ...asked, write: false } : asked;
    const cacheRoute = { target: route.target, scenario: route.scenario };
    const key =
      policy.read || policy.write ? this.cache.keyFor(route.request, cacheRoute, opts.clientKey) : undefined;
    if (key && policy.read) {
      const hit = await this.tracing.span(SPAN.cacheLookup, async (span) =>
        looked(span, await this.cache.get(key, policy.maxAgeSec)),
      );
      if (hit) {
        const replayed = this.cache.replay(hit, opts.signal);
        const replay = (
          opts.shadow
            ? replayed
            : this.trackUsage(
                replayed,
                route.sessionId,
                () => hit.target,
                true,
                opts.onUsage,
                opts.observation,
              )
        )[Symbol.asyncIterator]();
        const first = await replay.next();
        if (!first.done) {
          return {
            route,
            target: hit.target,
            head: [first.value],
            events: replay,
            cache: 'HIT',
            attempts: [],
          };
        }
      }
    }

    let served = route.target;
    let attempts: AttemptRecord[] = [];
    // A non-stream upstream answers nothing until it is done, so a hang would only be caught by the total
    // deadline: streaming upstream calls give every request a first-byte deadline (the client still gets JSON).
    const upstreamStreams = request.stream === true || this.config.get('Failover').streamUpstream;
    const upstreamRequest =
      upstreamStreams === route.request.stream
        ? route.request
        : { ...route.request, stream: upstreamStreams };
    const cls = opts.queueClass ?? this.queue.classify(route.scenario);
    const job: UpstreamJob = {
      requestId: opts.requestId,
      request: upstreamRequest,
      clientModel: String(request.model),
      chain: [route.target, ...route.fallbacks],
      scenario: route.scenario,
      longContextTarget: this.routing.longContextTarget(),
      tokenCount: route.tokenCount,
      headers: forwardedHeaders(opts.headers),
      priority: opts.shadow ? SHADOW_SLOT_PRIORITY : this.queue.priorityOf(cls),
      maxSlotWaitMs: opts.shadow ? SHADOW_SLOT_WAIT_MS : this.config.get('JobQueue').queues[cls].maxWaitMs,
      preferred:
        opts.shadow || !features.affinity
          ? undefined
          : await this.affinity.preferred(route.sessionId, route.target),
      features,
      // A non-stream client sees nothing before the end: an answer that breaks halfway can still fail over.
      wholeAnswer: request.stream !== true,
    };
    const obs = opts.observation;
    // The `queue` feature off: the upstream is called here and now, not through the priority queue.
    const queued = !opts.direct && features.queue;
    // Bound to the request's context: the leader's upstream spans are the request's, not the dedup wait's.
    const leaderCall = this.tracing.bind(async (signal: AbortSignal): Promise<AsyncIterator<StreamEvent>> => {
      if (obs) {
        obs.upstreamStartedAt = performance.now();
        obs.queueClass = queued ? cls : undefined;
      }
      const result = !queued
        ? await this.upstream.call(job, signal)
        : await this.queue.run(this.tracing.enqueue(job, cls), cls, signal, (waitMs) => {
            if (obs) {
              obs.queueWaitMs = waitMs;
            }
          });
      served = result.target;
      attempts = result.attempts;
      const answer = prepend(result.head, result.events);
      // Recorded at the source (not per subscriber), so the entry is on its way into the cache before
      // the coalesced call retires: an identical request right after it never pays the upstream again.
      return key && policy.write ? this.cache.recorder(key, result.target).tap(answer) : answer;
    });

    // With coalescing off there is nothing to share: no key to hash, no shared log to keep.
    const coalesce = this.config.get('Dedup').enabled && features.dedup && !opts.shadow;
    const joined = coalesce
      ? await this.tracing.span(SPAN.dedup, async (span) =>
          joinedAs(
            span,
            await this.dedup.join(
              key ?? canonicalCacheKey(route.request, route.target, opts.clientKey),
              leaderCall,
              opts.signal,
            ),
          ),
        )
      : { role: undefined, events: await leaderCall(opts.signal) };
    const events = opts.shadow
      ? joined.events
      : this.trackUsage(
          joined.events,
          route.sessionId,
          () => served,
          false,
          opts.onUsage,
          obs,
          features.affinity,
        )[Symbol.asyncIterator]();
    const first = await events.next();
    if (first.done) {
      throw new GatewayError(502, `upstream ${served} ended without answering`, { type: 'api_error' });
    }
    if (first.value.type === 'error') {
      await events.return?.(undefined);
      const { type, message } = first.value.error;
      throw new GatewayError(statusForErrorType(type), message, { type });
    }
    if (!opts.shadow && features.affinity) {
      this.affinity.record(
        route.sessionId,
        route.target,
        served,
        attempts.some((a) => a.outcome !== 'ok'),
      );
    }
    return {
      route,
      target: served,
      head: [first.value],
      events,
      cache: cacheHeaderValue(policy, key, false),
      dedup: joined.role,
      attempts,
    };
  }

  /**
   * Local token count (the same one the router computes), or the upstream's where supported. The upstream
   * call is bounded by the target's first-byte deadline and follows the client's signal: a slow, hanging
   * or failing count endpoint gives the local count, never a wait of `API_TIMEOUT_MS`.
   */
  async countTokens(request: CanonicalRequest, opts: OpenOptions): Promise<number> {
    let route: RoutedRequest;
    try {
      route = await this.routing.route(request, opts.headers);
    } catch {
      return countRequestTokens(request);
    }
    const local = route.tokenCount;
    const target = this.providers.target(route.target) as Target;
    const adapter = this.providers.adapterFor(target);
    if (!adapter.countTokens) {
      return local;
    }
    // One JSON answer: its first byte is all of it, so the first-byte deadline bounds the whole call.
    const ms = this.timeouts.firstByte(route.target, local).ms;
    const deadline = new AttemptDeadline({
      clientSignal: opts.signal,
      totalMs: ms,
      firstByteMs: ms,
      idleMs: Infinity,
      target: route.target,
    });
    try {
      const upstream = await deadline.race(
        adapter.countTokens(route.request, target, this.context(request, route, opts, deadline.signal)),
      );
      if (upstream === ABORTED || upstream === null) {
        if (deadline.expired) {
          this.logger.debug(
            { err: deadline.expired.message },
            'upstream count_tokens too slow; local count used',
          );
        }
        return local;
      }
      return upstream;
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'upstream count_tokens failed; local count used');
      return local;
    } finally {
      deadline.dispose();
    }
  }

  private context(request: CanonicalRequest, route: RoutedRequest, opts: OpenOptions, signal: AbortSignal) {
    return {
      requestId: opts.requestId,
      signal,
      clientHeaders: opts.headers,
      inputTokensEstimate: route.tokenCount,
      clientModel: String(request.model),
      logger: this.logger,
    };
  }

  /** Remembers the session's context size for the long-context rule once the answer has its usage. */
  private trackUsage(
    events: AsyncIterator<StreamEvent>,
    sessionId: string | undefined,
    servedBy: () => string,
    cache: boolean,
    onUsage: UsageListener | undefined,
    obs?: RequestObservation,
    recordAffinity = true,
  ): EventIterator<StreamEvent> {
    let input = 0;
    let usage: Usage = {
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    // A plain tap, not a generator: one promise hop per streamed event (src/common/event-iterators.ts).
    return tapEach(events, (ev) => {
      if (ev.type === 'message_start') {
        usage = { ...usage, ...ev.message.usage };
        input = totalInput(ev.message.usage);
      } else if (ev.type === 'message_delta') {
        usage = { ...usage, ...ev.usage };
        if (ev.usage.input_tokens !== undefined) {
          input = totalInput(ev.usage);
        }
      } else if (ev.type === 'error' && obs) {
        obs.lastEventAt = performance.now();
      } else if (ev.type === 'message_stop') {
        if (obs) {
          obs.lastEventAt = performance.now();
        }
        this.routing.recordUsage(sessionId, input);
        if (recordAffinity) {
          this.affinity.recordUsage(servedBy(), usage, cache);
        }
        onUsage?.(usage, servedBy(), { cache });
      }
    });
  }
}
