import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PinoLogger } from 'nestjs-pino';
import type { SwitchyardConfig } from '../config/config.schema';
import type { AppConfigService, ConfigChangeListener } from '../config/config.service';
import { loadConfig } from '../config/load-config';

/** What unit specs of src/features need of AppConfigService: typed reads and a reload they can trigger. */
export interface FakeConfig {
  service: AppConfigService;
  /** Swaps in `next` and calls the onChange listeners, as a hot reload does. */
  reload(next: SwitchyardConfig): void;
  current(): SwitchyardConfig;
}

/** The validated defaults (config/default.json + test.json) with `overrides` merged in. */
export function testConfig(overrides: Record<string, unknown> = {}): SwitchyardConfig {
  const home = mkdtempSync(join(tmpdir(), 'switchyard-features-'));
  return loadConfig({ env: { NODE_ENV: 'test', HOME: home }, overrides }).config;
}

export function fakeConfig(initial: SwitchyardConfig): FakeConfig {
  let config = initial;
  const listeners = new Set<ConfigChangeListener>();
  const service = {
    get: <K extends keyof SwitchyardConfig>(key: K) => config[key],
    get all() {
      return config;
    },
    onChange: (listener: ConfigChangeListener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as AppConfigService;
  return {
    service,
    current: () => config,
    reload(next) {
      const previous = config;
      config = next;
      for (const l of listeners) {
        l(next, previous);
      }
    },
  };
}

/** A logger that keeps its warn and info lines (message and fields) for assertions. */
export interface QuietLogger {
  logger: PinoLogger;
  warns: { fields: Record<string, unknown>; msg?: string }[];
  infos: { fields: Record<string, unknown>; msg?: string }[];
}

export function quietLogger(): QuietLogger {
  const warns: QuietLogger['warns'] = [];
  const infos: QuietLogger['infos'] = [];
  const keep =
    (into: QuietLogger['warns']) =>
    (fields: Record<string, unknown> | string, msg?: string): void => {
      into.push(typeof fields === 'string' ? { fields: {}, msg: fields } : { fields, msg });
    };
  const logger = {
    setContext: () => undefined,
    warn: keep(warns),
    info: keep(infos),
    error: () => undefined,
    debug: () => undefined,
  } as unknown as PinoLogger;
  return { logger, warns, infos };
}
