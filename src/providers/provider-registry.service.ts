import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { PoolMaintenance } from './pool-maintenance';
import type { WarmTarget } from './pool-warmup';
import { ProviderRegistry } from './provider.registry';
import type { ProviderAdapter, ProviderConfig, Target } from './provider.types';
import { loadCustomTransformers } from './transformers/custom-transformers';
import { TransformerRegistry } from './transformers/transformer.registry';
import { providerTransport, UpstreamClient } from './upstream.client';

/**
 * Nest wrapper around the provider registry and the one UpstreamClient (undici pools) that every adapter
 * shares. Owns the client's lifecycle: pools close on shutdown.
 */
@Injectable()
export class ProviderRegistryService implements OnModuleInit, OnApplicationShutdown {
  readonly client: UpstreamClient;
  readonly pools: PoolMaintenance;
  private readonly registry: ProviderRegistry;
  private readonly warmTargets: WarmTarget[];

  constructor(
    private readonly config: AppConfigService,
    logger: PinoLogger,
  ) {
    logger.setContext('providers');
    const apiTimeout = config.get('API_TIMEOUT_MS');
    const pools = config.get('Pools');
    this.client = new UpstreamClient({
      headersTimeoutMs: apiTimeout,
      bodyTimeoutMs: apiTimeout,
      proxyUrl: config.get('PROXY_URL'),
      autoTune: pools.autoTune ? { min: pools.minConnections, max: pools.maxConnections } : undefined,
      onTune: (event) => logger.debug({ pool: event }, 'upstream pool tuned'),
    });
    this.pools = new PoolMaintenance(this.client, pools, logger);
    this.warmTargets = warmTargets(config.get('Providers') as ProviderConfig[]);
    const custom = loadCustomTransformers(config.get('transformers'));
    for (const warning of custom.warnings) {
      logger.warn(warning);
    }
    this.registry = new ProviderRegistry(config.get('Providers') as ProviderConfig[], {
      client: this.client,
      transformers: new TransformerRegistry(custom.transformers),
    });
    for (const warning of this.registry.warnings) {
      logger.warn(warning);
    }
    const targets = this.registry.list();
    if (targets.length > 0) {
      logger.info(
        { targets: targets.map((t) => `${t.provider},${t.model} (${t.kind})`) },
        'providers configured',
      );
    }
  }

  /** Tops every origin's pool back up to `Pools.warmConnections` (the cluster's scheduled warm-up refresh). */
  async rewarm(): Promise<number> {
    const pools = this.config.get('Pools');
    if (!pools.warmup || pools.warmConnections === 0 || this.warmTargets.length === 0) {
      return 0;
    }
    const results = await this.pools.warmUp(this.warmTargets, pools.warmConnections);
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
    return this.registry.resolve(reference.slice(0, comma), reference.slice(comma + 1));
  }

  adapterFor(target: Target): ProviderAdapter {
    return this.registry.adapterFor(target);
  }

  kindOf(target: Target): ReturnType<ProviderRegistry['kindOf']> {
    return this.registry.kindOf(target.provider);
  }

  list(): ReturnType<ProviderRegistry['list']> {
    return this.registry.list();
  }

  /** Warm-up is awaited (bounded by Pools.warmupTimeoutMs) so the first requests find open sockets. */
  async onModuleInit(): Promise<void> {
    await this.pools.start(this.warmTargets);
  }

  /** In-flight streams were given the shutdown grace period already; whatever is left is cut. */
  async onApplicationShutdown(): Promise<void> {
    this.pools.stop();
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      this.client.close().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), 1000);
      }),
    ]);
    clearTimeout(timer);
    if (!closed) {
      await this.client.destroy();
    }
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
