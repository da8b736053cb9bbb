import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { AppConfigService } from '../config/config.service';
import { FastHistogram } from './fast-histogram';

export type LabelValues = Record<string, string | number>;
export type Sample = [labels: LabelValues, value: number];

let processRegistry: Registry | undefined;

/**
 * prom-client's gauges of the total active handles, requests and resources: a gauge named `…_total` reads as a
 * counter (`promtool check metrics` flags it), and each is the sum of the per-type gauge without `_total`.
 */
const MISNAMED_PROCESS_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * Node's process metrics (CPU, RSS, heap, GC, event-loop lag, handles) are the process's, and prom-client's
 * collectors (a GC observer, an event-loop histogram) cannot be stopped: one set per process, shared by every
 * application in it (tests start several).
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    for (const name of MISNAMED_PROCESS_GAUGES) {
      processRegistry.removeSingleMetric(name);
    }
  }
  return processRegistry;
}

/**
 * This application's Prometheus registry and the helpers every metric is made with. Other modules may add
 * their own metrics here (names `switchyard_…`, bounded labels: never a user, a key or a request id).
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly withProcess: boolean;

  constructor(config: AppConfigService) {
    this.withProcess = config.get('Metrics').processMetrics;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition of everything: process metrics first, then the gateway's. */
  async render(): Promise<string> {
    const own = await this.registry.metrics();
    return this.withProcess ? `${await processMetrics().metrics()}\n${own}` : own;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter<string> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
  ): FastHistogram {
    return new FastHistogram(this.registry, name, help, labelNames, bounds);
  }

  /**
   * A counter whose value lives elsewhere (a service's own running total) and is read at scrape time:
   * nothing is added to the hot path.
   */
  bridgedCounter(
    name: string,
    help: string,
    labelNames: readonly string[],
    read: () => Sample[],
  ): Counter<string> {
    return new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) {
          this.inc(labels, Math.max(0, value));
        }
      },
    });
  }

  /** A gauge computed at scrape time; label sets that disappear disappear from the output too. */
  computedGauge(
    name: string,
    help: string,
    labelNames: readonly string[],
    read: () => Sample[] | Promise<Sample[]>,
  ): Gauge<string> {
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        const samples = await read();
        this.reset();
        for (const [labels, value] of samples) {
          if (Number.isFinite(value)) {
            this.set(labels, value);
          }
        }
      },
    });
  }
}
