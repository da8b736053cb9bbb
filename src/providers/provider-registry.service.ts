import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { PinoLogger } from 'nestjs-pino';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import { PoolMaintenance } from './pool-maintenance';
import type { WarmTarget } from './pool-warmup';
import { ProviderRegistry } from './provider.registry';
import type { ProviderAdapter, ProviderConfig, Target } from './provider.types';
import { loadCustomTransformers } from './transformers/custom-transformers';
import { TransformerRegistry } from './transformers/transformer.registry';
import { ProviderResolver } from './provider-resolver';
import type { UpstreamCallRecord } from './upstream-call-log';
import { providerTransport, UpstreamClient, type UpstreamRequest } from './upstream.client';

/** What one configuration builds; swapped as a whole by a reload, so a request sees one consistent set. */
interface ProviderState {
  client: UpstreamClient;
  pools: PoolMaintenance;
  registry: ProviderRegistry;
  warmTargets: WarmTarget[];
}

const DEBUG_LEVELS = new Set(['debug', 'trace']);

/** A client being replaced gets this long to finish its requests at shutdown before it is cut. */
const CLOSE_GRACE_MS = 1000;

/**
 * Nest wrapper around the provider registry and the one UpstreamClient (undici pools) that every adapter
 * shares. Owns the client's lifecycle: pools close on shutdown. A config reload builds a new registry (and,
 * when API_TIMEOUT_MS, PROXY_URL or Pools changed, a new client); requests in flight keep the adapter and
 * pool they hold, and a replaced pool or client closes only once its requests are done.
 */
@Injectable()
export class ProviderRegistryService implements OnModuleInit, OnApplicationShutdown {
  private state: ProviderState;
  /** Names the provider of an upstream call for the debug log (kept in step with the configuration). */
  private resolver = new ProviderResolver([]);
  private readonly retiring = new Set<UpstreamClient>();
  private unsubscribe?: () => void;

  constructor(
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('providers');
    const all = config.all;
    const client = this.buildClient(all);
    this.state = this.buildState(all, client, new PoolMaintenance(client, all.Pools, logger));
  }

  get client(): UpstreamClient {
    return this.state.client;
  }

  get pools(): PoolMaintenance {
    return this.state.pools;
  }

  /** Tops every origin's pool back up to `Pools.warmConnections` (the cluster's scheduled warm-up refresh). */
  async rewarm(): Promise<number> {
    const pools = this.config.get('Pools');
    const { warmTargets, pools: maintenance } = this.state;
    if (!pools.warmup || pools.warmConnections === 0 || warmTargets.length === 0) {
      return 0;
    }
    const results = await maintenance.warmUp(warmTargets, pools.warmConnections);
    return results.length;
  }

  /** "provider,model" → the configured spelling, or undefined when not configured. */
  canonical(reference: string): string | undefined {
    const target = this.target(reference);
    return target ? `${target.provider.name},${target.model}` : undefined;
  }

  target(reference: string): Target | undefined {
    const comma = reference.indexOf(',');
    if (comma <= 0) {
      return undefined;
    }
    return this.state.registry.resolve(reference.slice(0, comma), reference.slice(comma + 1));
  }

  adapterFor(target: Target): ProviderAdapter {
    return this.state.registry.adapterFor(target);
  }

  kindOf(target: Target): ReturnType<ProviderRegistry['kindOf']> {
    return this.state.registry.kindOf(target.provider);
  }

  list(): ReturnType<ProviderRegistry['list']> {
    return this.state.registry.list();
  }

  /** Warm-up is awaited (bounded by Pools.warmupTimeoutMs) so the first requests find open sockets. */
  async onModuleInit(): Promise<void> {
    this.unsubscribe = this.config.onChange((next, previous) => this.reconfigure(next, previous));
    await this.state.pools.start(this.state.warmTargets);
  }

  /** In-flight streams were given the shutdown grace period already; whatever is left is cut. */
  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    this.state.pools.stop();
    await Promise.all([this.state.client, ...this.retiring].map((c) => closeWithin(c, CLOSE_GRACE_MS)));
  }

  private reconfigure(next: SwitchyardConfig, previous: SwitchyardConfig): void {
    const clientChanged =
      next.API_TIMEOUT_MS !== previous.API_TIMEOUT_MS ||
      next.PROXY_URL !== previous.PROXY_URL ||
      !isDeepStrictEqual(next.Pools, previous.Pools);
    const providersChanged =
      !isDeepStrictEqual(next.Providers, previous.Providers) ||
      !isDeepStrictEqual(next.transformers, previous.transformers);
    if (!clientChanged && !providersChanged) {
      return;
    }
    const old = this.state;
    const stale = staleOrigins(previous.Providers as ProviderConfig[], next.Providers as ProviderConfig[]);
    if (clientChanged || (old.client.proxied && stale.length > 0)) {
      const client = this.buildClient(next);
      client.setObserver(old.client.getObserver());
      const pools = new PoolMaintenance(client, next.Pools, this.logger);
      this.state = this.buildState(next, client, pools);
      old.pools.stop();
      this.retire(old.client);
      void pools.start(this.state.warmTargets);
    } else {
      this.state = this.buildState(next, old.client, old.pools);
      for (const origin of stale) {
        void old.client.retireOrigin(origin);
      }
      const known = new Set(old.warmTargets.map((t) => t.origin));
      const added = this.state.warmTargets.filter((t) => !known.has(t.origin) || stale.includes(t.origin));
      if (added.length > 0 && next.Pools.warmup && next.Pools.warmConnections > 0) {
        void old.pools.warmUp(added, next.Pools.warmConnections);
      }
    }
    this.logger.info({ newClient: clientChanged, retiredOrigins: stale.length }, 'providers reconfigured');
  }

  /** The old client closes once its requests are done (undici's close waits for them); shutdown cuts it. */
  private retire(client: UpstreamClient): void {
    this.retiring.add(client);
    void client.close().finally(() => this.retiring.delete(client));
  }

  private buildClient(config: SwitchyardConfig): UpstreamClient {
    const apiTimeout = config.API_TIMEOUT_MS;
    const pools = config.Pools;
    return new UpstreamClient({
      headersTimeoutMs: apiTimeout,
      bodyTimeoutMs: apiTimeout,
      proxyUrl: config.PROXY_URL,
      autoTune: pools.autoTune ? { min: pools.minConnections, max: pools.maxConnections } : undefined,
      onTune: (event) => this.logger.debug({ pool: event }, 'upstream pool tuned'),
      // The logger's level (Logging.level, restart-only): at info and above the client gets no sink and pays
      // nothing per call.
      onCall: DEBUG_LEVELS.has(config.Logging.level) ? (call, req) => this.logCall(call, req) : undefined,
    });
  }

  /** The request's logger (async context) carries its requestId; headers are only read to name the provider. */
  private logCall(call: UpstreamCallRecord, req: UpstreamRequest): void {
    const names = this.resolver.resolve(req.url, req.headers);
    this.logger.debug(
      { provider: names.length > 0 ? names.join('|') : undefined, ...call },
      call.error === undefined ? 'upstream call' : 'upstream call failed',
    );
  }

  private buildState(
    config: SwitchyardConfig,
    client: UpstreamClient,
    pools: PoolMaintenance,
  ): ProviderState {
    const providers = config.Providers as ProviderConfig[];
    this.resolver = new ProviderResolver(providers);
    const custom = loadCustomTransformers(config.transformers);
    for (const warning of custom.warnings) {
      this.logger.warn(warning);
    }
    const registry = new ProviderRegistry(providers, {
      client,
      transformers: new TransformerRegistry(custom.transformers),
    });
    for (const warning of registry.warnings) {
      this.logger.warn(warning);
    }
    const targets = registry.list();
    if (targets.length > 0) {
      this.logger.info(
        { targets: targets.map((t) => `${t.provider},${t.model} (${t.kind})`) },
        'providers configured',
      );
    }
    return { client, pools, registry, warmTargets: warmTargets(providers) };
  }
}

async function closeWithin(client: UpstreamClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    client.close().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  if (!closed) {
    await client.destroy();
  }
}

/** One entry per upstream origin, with the pool settings of the first provider using it. */
function warmTargets(providers: ProviderConfig[]): WarmTarget[] {
  const byOrigin = new Map<string, WarmTarget>();
  for (const p of providers) {
    const origin = new URL(p.api_base_url).origin;
    if (!byOrigin.has(origin)) {
      byOrigin.set(origin, { origin, pool: providerTransport(p).pool });
    }
  }
  return [...byOrigin.values()];
}

/** Origins no provider uses any more, or whose pool settings changed: their pools are replaced. */
function staleOrigins(previous: ProviderConfig[], next: ProviderConfig[]): string[] {
  const before = new Map(warmTargets(previous).map((t) => [t.origin, t.pool]));
  const after = new Map(warmTargets(next).map((t) => [t.origin, t.pool]));
  return [...before]
    .filter(([origin, pool]) => !after.has(origin) || !isDeepStrictEqual(after.get(origin), pool))
    .map(([o]) => o);
}
