import { Injectable } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { AppConfigService } from '../config/config.service';
import type { CircuitState } from '../failover/circuit-breaker';
import { HealthScoreService } from '../failover/health-score';
import { TargetStateService } from '../failover/target-state.service';
import { ProviderHealthIndicator } from '../health/provider.health';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { QueueService } from '../queue/queue.service';
import { QUEUE_CLASSES } from '../queue/queue.types';
import { DegradedModeService } from '../redis/degraded-mode.service';
import { RedisService } from '../redis/redis.service';
import { memoryLimitBytes } from './memory-limit';
import { MetricsRegistry, type Sample } from './metrics.registry';
import { splitTarget } from './outcome-class';

/** package.json sits two levels up from both src/metrics and dist/metrics. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

interface TargetView {
  circuit: CircuitState;
  cooling: boolean;
  score: number;
}

/** BullMQ's and the in-process scheduler's counts folded into waiting / running / delayed. */
function depthStates(counts: Record<string, number>): Record<'waiting' | 'running' | 'delayed', number> {
  const n = (k: string): number => counts[k] ?? 0;
  return {
    waiting: n('local_waiting') + n('waiting') + n('prioritized'),
    running: n('local_running') + n('active'),
    delayed: n('delayed'),
  };
}

/**
 * Gauges computed at scrape time from the services that own the state: circuits and health scores per
 * target, Router slots whose every target is open, queue depths, upstream pools, degraded modes, memory
 * limits. One read of the target states serves every gauge of a scrape.
 */
@Injectable()
export class StateMetrics {
  /** The read in progress: the gauges of one scrape collect at the same time and share it. */
  private targetsRead?: Promise<Map<string, TargetView>>;

  constructor(
    m: MetricsRegistry,
    private readonly config: AppConfigService,
    private readonly providers: ProviderRegistryService,
    private readonly scores: HealthScoreService,
    private readonly state: TargetStateService,
    private readonly health: ProviderHealthIndicator,
    queue: QueueService,
    degraded: DegradedModeService,
    redis: RedisService,
  ) {
    m.computedGauge(
      'switchyard_circuit_state',
      'Circuit breaker state per target: 0 closed, 1 half-open, 2 open.',
      ['provider', 'model'],
      async () => this.perTarget(await this.targets(), (v) => CIRCUIT_VALUE[v.circuit]),
    );
    m.computedGauge(
      'switchyard_target_cooling_down',
      'Target in a retry-after cooldown (1) or not (0): skipped without a call while 1.',
      ['provider', 'model'],
      async () => this.perTarget(await this.targets(), (v) => (v.cooling ? 1 : 0)),
    );
    m.computedGauge(
      'switchyard_target_health_score',
      'Health score per target (0..1: success EWMA and latency, times the circuit; orders failover chains).',
      ['provider', 'model'],
      async () => this.perTarget(await this.targets(), (v) => v.score),
    );
    m.computedGauge(
      'switchyard_router_slot_targets',
      'Targets configured for each Router slot (the slot list plus fallback.<slot>).',
      ['slot'],
      () => Object.entries(this.health.slots()).map(([slot, targets]): Sample => [{ slot }, targets.length]),
    );
    m.computedGauge(
      'switchyard_router_slot_open_targets',
      "Targets of each Router slot whose circuit is open: equal to switchyard_router_slot_targets, the slot can't be served.",
      ['slot'],
      async () => {
        const views = await this.targets();
        return Object.entries(this.health.slots()).map(([slot, targets]): Sample => [
          { slot },
          targets.filter((t) => views.get(t)?.circuit === 'open').length,
        ]);
      },
    );
    m.computedGauge(
      'switchyard_queue_depth',
      'Upstream work per priority class and state (waiting, running, delayed); BullMQ counts are cluster-wide.',
      ['class', 'state'],
      async () => {
        const depth = await queue.depth();
        return QUEUE_CLASSES.flatMap((cls) =>
          Object.entries(depthStates(depth[cls])).map(([s, n]): Sample => [{ class: cls, state: s }, n]),
        );
      },
    );
    m.computedGauge(
      'switchyard_upstream_pool_connections',
      'Upstream connection pools per origin: connected, free, pending (queued requests), running, queued.',
      ['origin', 'state'],
      () =>
        this.providers.client.stats().flatMap((p): Sample[] => [
          [{ origin: p.origin, state: 'connected' }, p.connected],
          [{ origin: p.origin, state: 'free' }, p.free],
          [{ origin: p.origin, state: 'pending' }, p.pending],
          [{ origin: p.origin, state: 'running' }, p.running],
          [{ origin: p.origin, state: 'queued' }, p.queued],
        ]),
    );
    m.computedGauge(
      'switchyard_upstream_pool_limit',
      'Connection limit per upstream origin (fixed, or the auto-tuned one).',
      ['origin'],
      () => this.providers.client.stats().map((p): Sample => [{ origin: p.origin }, p.limit]),
    );
    m.computedGauge(
      'switchyard_degraded_mode',
      'Subsystem running its local form because the configured Redis is unavailable (1), or not (0).',
      ['subsystem'],
      () => {
        const down = redis.configured && redis.mode !== 'redis';
        return Object.entries(degraded.modes()).map(([subsystem, mode]): Sample => [
          { subsystem },
          down && mode === 'local' ? 1 : 0,
        ]);
      },
    );
    m.computedGauge(
      'switchyard_redis_up',
      'The hot Redis connection is usable (1), or not or no Redis is configured (0).',
      [],
      () => (redis.configured ? [[{}, redis.mode === 'redis' ? 1 : 0]] : []),
    );
    const limit = memoryLimitBytes(config.get('Metrics').memoryLimitBytes);
    m.computedGauge(
      'switchyard_memory_limit_bytes',
      'Memory this process may use (Metrics.memoryLimitBytes, else the cgroup limit, else the host RAM), by source.',
      ['source'],
      () => [[{ source: limit.source }, limit.bytes]],
    );
    m.computedGauge('switchyard_heap_limit_bytes', "V8's heap size limit (--max-old-space-size).", [], () => [
      [{}, getHeapStatistics().heap_size_limit],
    ]);
    const version = packageVersion();
    m.computedGauge(
      'switchyard_build_info',
      'Always 1; the labels say what runs.',
      ['version', 'role', 'node'],
      () => [[{ version, role: config.get('JobQueue').role, node: process.version }, 1]],
    );
  }

  private perTarget(views: Map<string, TargetView>, value: (v: TargetView) => number): Sample[] {
    return [...views].map(([target, v]): Sample => {
      const [provider, model] = splitTarget(target);
      return [{ provider, model }, value(v)];
    });
  }

  /** Configured targets and any the failover machinery has seen, with their shared state refreshed. */
  private targets(): Promise<Map<string, TargetView>> {
    if (this.targetsRead) {
      return this.targetsRead;
    }
    const views = (async () => {
      const configured = this.providers.list().map((t) => `${t.provider},${t.model}`);
      const all = [...new Set([...configured, ...this.scores.known(), ...this.state.known()])].sort();
      await this.state.refresh(all);
      const at = Date.now();
      return new Map(
        all.map((t): [string, TargetView] => {
          const view = this.state.view(t, at);
          return [
            t,
            { circuit: view.state, cooling: view.cooldownUntil !== null, score: this.scores.score(t, at) },
          ];
        }),
      );
    })().finally(() => {
      this.targetsRead = undefined;
    });
    this.targetsRead = views;
    return views;
  }
}
