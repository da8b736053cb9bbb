import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { SwitchyardConfig } from './config.schema';
import { CONFIG_NAMESPACE } from './config.constants';
import type { LoadedConfig } from './load-config';

export type ConfigChangeListener = (next: SwitchyardConfig, previous: SwitchyardConfig) => void;

/**
 * Typed, read-only access to the validated configuration. Everything outside src/config reads settings
 * through this service, never through process.env.
 */
@Injectable()
export class AppConfigService {
  private loaded: LoadedConfig;
  private readonly listeners = new Set<ConfigChangeListener>();

  constructor(nest: ConfigService) {
    // The whole validated object lives under one namespace so that ConfigService's process.env lookup
    // can never shadow a validated value with a raw string.
    this.loaded = nest.getOrThrow<LoadedConfig>(CONFIG_NAMESPACE);
  }

  /**
   * Swaps in a new validated configuration at once (hot reload). Readers that call `get()` per use see it
   * on their next call; services that derive state from the config rebuild it in their `onChange` listener.
   * Work already in flight keeps the objects it holds. Returns the errors listeners threw (each listener
   * runs whatever the others do).
   */
  replace(next: LoadedConfig): Error[] {
    const previous = this.loaded;
    this.loaded = next;
    // One listener's failure must not leave the others on the old configuration; the caller logs them.
    const failures: Error[] = [];
    for (const listener of [...this.listeners]) {
      try {
        listener(next.config, previous.config);
      } catch (err) {
        failures.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return failures;
  }

  /** Called after every `replace`, with the new and the previous config; returns the unsubscribe. */
  onChange(listener: ConfigChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get<K extends keyof SwitchyardConfig>(key: K): SwitchyardConfig[K] {
    return this.loaded.config[key];
  }

  get all(): SwitchyardConfig {
    return this.loaded.config;
  }

  get meta(): LoadedConfig {
    return this.loaded;
  }

  get nodeEnv(): string {
    return this.loaded.nodeEnv;
  }

  /** HOST: explicit, else loopback — never exposed by default (CCR semantics). */
  get host(): string {
    return this.loaded.config.HOST ?? '127.0.0.1';
  }

  get port(): number {
    return this.loaded.config.PORT;
  }

  get apiKey(): string | undefined {
    return this.loaded.config.APIKEY;
  }

  get redisConfigured(): boolean {
    const redis = this.loaded.config.Redis;
    return redis.enabled || Boolean(redis.url);
  }
}
