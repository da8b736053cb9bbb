import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PinoLogger } from 'nestjs-pino';
import type { Counter } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { changedKeys, keepRunningValues, restartRequiredChanges } from './config-diff';
import { configSecrets, redactConfig, scrubSecrets } from './config-redaction';
import { referenceProblems } from './config-references';
import type { SwitchyardConfig } from './config.schema';
import { ConfigWatcher } from './config-watcher';
import { AppConfigService } from './config.service';
import { ConfigError, loadConfig, type LoadedConfig } from './load-config';

export type ReloadResult = 'applied' | 'unchanged' | 'rejected';
export type ReloadTrigger = 'boot' | 'api' | 'watch';

/** What one reload did (also `GET /api/config`'s `meta.lastReload`). */
export interface ReloadReport {
  result: ReloadResult;
  trigger: ReloadTrigger;
  at: string;
  /** Rejected: every problem, one per line, each naming the key path (and the file when known). */
  problem?: string;
  /** Top-level keys whose effective value changed. */
  changed: string[];
  /** Restart-only settings that differ from the running ones (they keep their running values). */
  restartRequired: string[];
}

export interface ConfigView {
  config: SwitchyardConfig;
  meta: {
    sources: string[];
    userFile: string | null;
    nodeEnv: string;
    loadedAt: string;
    generation: number;
    watching: boolean;
    lastReload: ReloadReport;
  };
}

const RESULTS: readonly ReloadResult[] = ['applied', 'unchanged', 'rejected'];

/**
 * Hot reload (docs/configuration.md#hot-reload): loads the layers again with the options used at boot,
 * validates them (schema, then cross-section references), keeps restart-only settings at their running
 * values and swaps the result in through AppConfigService.replace — services that derive state from the
 * config rebuild it in their onChange listeners, requests in flight keep what they hold. An invalid
 * configuration is rejected with an error log line naming the problem; the running one stays.
 */
@Injectable()
export class ConfigReloadService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly reloads: Counter<string>;
  private watcher?: ConfigWatcher;
  private unsubscribe?: () => void;
  private generationCount = 1;
  private loadedAtMs = Date.now();
  private last: ReloadReport;

  constructor(
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
    metrics: MetricsRegistry,
  ) {
    this.logger.setContext('config');
    this.reloads = metrics.counter(
      'switchyard_config_reloads_total',
      'Configuration reloads (file watcher and POST /api/config/reload) by result: applied, unchanged, rejected.',
      ['result'],
    );
    for (const result of RESULTS) {
      this.reloads.inc({ result }, 0);
    }
    this.last = {
      result: 'applied',
      trigger: 'boot',
      at: new Date(this.loadedAtMs).toISOString(),
      changed: [],
      restartRequired: [],
    };
  }

  onApplicationBootstrap(): void {
    this.startWatching();
    this.unsubscribe = this.config.onChange((next, previous) => {
      if (
        next.Reload.watch !== previous.Reload.watch ||
        next.Reload.debounceMs !== previous.Reload.debounceMs
      ) {
        this.startWatching();
      }
    });
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** 1 at boot, +1 per applied reload. */
  get generation(): number {
    return this.generationCount;
  }

  /** When the running configuration was loaded (boot or the last applied reload). */
  get loadedAt(): string {
    return new Date(this.loadedAtMs).toISOString();
  }

  get lastReload(): ReloadReport {
    return this.last;
  }

  /** `GET /api/config`: the effective configuration, secrets redacted, and where it came from. */
  view(): ConfigView {
    const meta = this.config.meta;
    const secrets = configSecrets(meta.config);
    return {
      config: redactConfig(meta.config),
      meta: scrubSecrets(
        {
          sources: meta.sources,
          userFile: meta.userFile ?? null,
          nodeEnv: meta.nodeEnv,
          loadedAt: this.loadedAt,
          generation: this.generationCount,
          watching: this.watcher !== undefined,
          lastReload: this.last,
        },
        secrets,
      ),
    };
  }

  /** Loads, validates and swaps in the configuration; never throws (a rejection is the report's result). */
  reload(trigger: Exclude<ReloadTrigger, 'boot'>): ReloadReport {
    const current = this.config.meta;
    let next: LoadedConfig;
    try {
      next = this.load(current);
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      return this.finish({ result: 'rejected', trigger, problem, changed: [], restartRequired: [] });
    }
    const restartRequired = restartRequiredChanges(current.config, next.config);
    const effective = keepRunningValues(current.config, next.config);
    const changed = changedKeys(current.config, effective);
    if (changed.length > 0) {
      const failures = this.config.replace({ ...next, config: effective });
      this.generationCount += 1;
      this.loadedAtMs = Date.now();
      for (const err of failures) {
        this.logger.error(
          { err: err.message },
          `a service could not apply the reloaded configuration: ${err.message}`,
        );
      }
      for (const warning of next.warnings.filter((w) => !current.warnings.includes(w))) {
        this.logger.warn(warning);
      }
    }
    return this.finish({
      result: changed.length > 0 ? 'applied' : 'unchanged',
      trigger,
      changed,
      restartRequired,
    });
  }

  private load(current: LoadedConfig): LoadedConfig {
    // Without this, a user file that vanished (~/.claude-code-router/config.json) would silently drop its layer.
    if (current.userFile && !existsSync(current.userFile)) {
      throw new ConfigError(`config file ${current.userFile} is missing`);
    }
    const next = loadConfig(current.options);
    const problems = referenceProblems(next.config);
    if (problems.length > 0) {
      const from = next.userFile ? ` (in ${next.userFile} or the layers under it)` : '';
      throw new ConfigError(`invalid configuration${from}:\n${problems.join('\n')}`);
    }
    return next;
  }

  private finish(report: Omit<ReloadReport, 'at'>): ReloadReport {
    const full: ReloadReport = { ...report, at: new Date().toISOString() };
    const previous = this.last.result;
    this.last = full;
    this.reloads.inc({ result: full.result });
    switch (full.result) {
      case 'rejected':
        this.logger.error(
          { trigger: full.trigger },
          `configuration reload rejected; the running configuration stays. ${full.problem ?? ''}`,
        );
        break;
      case 'applied':
        this.logger.info(
          { trigger: full.trigger, changed: full.changed, generation: this.generationCount },
          `configuration reloaded: ${full.changed.join(', ')}`,
        );
        break;
      case 'unchanged':
        if (previous === 'rejected') {
          // The error line would otherwise be the log's last word on a file that is fine again.
          this.logger.info(
            { trigger: full.trigger },
            'configuration valid again; it matches the running configuration, which stays',
          );
        } else {
          this.logger.debug({ trigger: full.trigger }, 'configuration reload: nothing changed');
        }
        break;
    }
    if (full.restartRequired.length > 0) {
      this.logger.warn(
        { restartRequired: full.restartRequired },
        `configuration reload: ${full.restartRequired.join(', ')} change only with a restart; the running values stay`,
      );
    }
    return full;
  }

  private startWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
    const { Reload } = this.config.all;
    if (!Reload.watch) {
      return;
    }
    const meta = this.config.meta;
    const files = [
      ...(meta.userFile ? [meta.userFile] : []),
      join(meta.configDir, 'default.json'),
      join(meta.configDir, `${meta.nodeEnv}.json`),
    ];
    const watcher = new ConfigWatcher({
      files,
      required: meta.userFile ? [meta.userFile] : [],
      debounceMs: Reload.debounceMs,
      onChange: () => {
        this.reload('watch');
      },
      onError: (err) => this.logger.warn({ err: err.message }, 'config file watcher failed'),
    });
    watcher.start();
    this.watcher = watcher;
    this.logger.debug({ files }, 'watching the configuration files');
  }
}
