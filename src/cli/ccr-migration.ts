import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import JSON5 from 'json5';
import type { SwitchyardConfig } from '../config/config.schema';
import { referenceProblems } from '../config/config-references';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load-config';
import { ProviderRegistry } from '../providers/provider.registry';
import type { ProviderConfig } from '../providers/provider.types';
import { loadCustomTransformers } from '../providers/transformers/custom-transformers';
import { TransformerRegistry } from '../providers/transformers/transformer.registry';
import type { UpstreamClient } from '../providers/upstream.client';
import { loadCustomRouter } from '../routing/custom-router';
import { ROUTER_SLOTS } from './ccr-keys';
import { convertCcrConfig, describeKeys, type KeyReport } from './ccr-convert';

type Json = Record<string, unknown>;

/** Node's "Cannot find module" carries a require stack: the first line says it all. */
const firstLine = (text: string): string => text.split('\n')[0];

export interface MigrationReport {
  source: string;
  /** The source parsed as JSON5 with an object at the top. */
  parsed: boolean;
  keys: KeyReport[];
  /** What the written config changes compared to the source. */
  fixes: string[];
  warnings: string[];
  /** Why the converted config does not load (empty when it does). */
  errors: string[];
  /** Would the gateway boot on the source file as it is? */
  loadsAsIs: boolean;
  asIsErrors: string[];
  /** The converted config passed Switchyard's own loader. */
  valid: boolean;
  summary?: { providers: number; targets: number; routes: Record<string, string[]> };
  written?: string;
}

export interface Migration {
  report: MigrationReport;
  /** The Switchyard config to write (present when the source parsed). */
  config?: Json;
}

/** Variables of the environment layer: left out so that the file alone is validated. */
const ENV_LAYER = ['PORT', 'HOST', 'LOG_LEVEL', 'SWITCHYARD_API_KEY', 'SWITCHYARD_ROLE', 'REDIS_URL'];

function loadFile(file: string, env: NodeJS.ProcessEnv): { loaded?: LoadedConfig; errors: string[] } {
  const isolated: NodeJS.ProcessEnv = { ...env, SWITCHYARD_CONFIG: file };
  for (const name of ENV_LAYER) {
    delete isolated[name];
  }
  try {
    return { loaded: loadConfig({ env: isolated }), errors: [] };
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      throw err;
    }
    const lines = err.message.split('\n');
    const problems = lines[0].startsWith('invalid configuration') ? lines.slice(1) : lines;
    return { errors: problems.map((l) => l.replace(/^\s*-\s*/, '').trim()).filter(Boolean) };
  }
}

/** Loads the converted config through the real loader, from a private temporary file. */
function validateConverted(
  config: Json,
  env: NodeJS.ProcessEnv,
): { loaded?: LoadedConfig; errors: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-migrate-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    const result = loadFile(file, env);
    // The temporary file's name means nothing to the user.
    const rename = (s: string): string => s.split(file).join('the converted config');
    return { loaded: result.loaded, errors: result.errors.map(rename) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report of a key, or of the CCR alias that stands for it (`providers` for `Providers`). */
const keyReport = (report: MigrationReport, key: string): KeyReport | undefined =>
  report.keys.find((k) => k.key === key) ?? report.keys.find((k) => k.status === 'used' && k.target === key);

/** Runs the parts of the boot that can fail quietly (unknown transformers, modules that do not load, dangling targets). */
function checkLoaded(config: SwitchyardConfig, report: MigrationReport, cwd: string): void {
  const warn = (w: string): number => report.warnings.push(w);

  const custom = (config.transformers ?? []).map((entry) => ({
    entry,
    ...loadCustomTransformers([entry], { baseDir: cwd }),
  }));
  const transformersKey = keyReport(report, 'transformers');
  for (const { entry, transformers, warnings } of custom) {
    warnings.map(firstLine).forEach(warn);
    transformersKey?.details.push(
      transformers.length
        ? `${entry.path}: transformer "${transformers[0].name}"`
        : `${entry.path}: does not load`,
    );
  }

  // Built only to resolve kinds, transformer chains and targets: nothing is ever sent through it.
  const registry = new ProviderRegistry(config.Providers as unknown as ProviderConfig[], {
    client: {} as UpstreamClient,
    transformers: new TransformerRegistry(custom.flatMap((c) => c.transformers)),
  });
  registry.warnings.forEach(warn);
  const kinds = new Map(registry.list().map((t) => [t.provider.toLowerCase(), t.kind]));
  const providersKey = keyReport(report, 'Providers');
  for (const p of config.Providers) {
    const uses = (p.transformer?.use ?? []).map((u) => (Array.isArray(u) ? u[0] : u));
    const perModel = Object.keys(p.transformer ?? {}).filter((k) => k !== 'use');
    providersKey?.details.push(
      `${p.name}: ${kinds.get(p.name.toLowerCase()) ?? '?'} kind, ${p.models.length} model(s)` +
        (uses.length ? `, transformers ${uses.join(', ')}` : '') +
        (perModel.length ? `, per-model transformers for ${perModel.join(', ')}` : '') +
        (p.api_key ? '' : ', no api_key'),
    );
  }

  const targets = (v: unknown): string[] =>
    Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
  const routes: Record<string, string[]> = {};
  const routerKey = keyReport(report, 'Router');
  for (const [slot, value] of Object.entries(config.Router)) {
    if (slot === 'longContextThreshold') {
      routerKey?.details.push(`longContextThreshold: longContext above ${String(value)} tokens`);
      continue;
    }
    if (!ROUTER_SLOTS.includes(slot)) {
      warn(
        `Router.${slot} is not a Switchyard scenario (${ROUTER_SLOTS.join(', ')}); only a custom router can use it`,
      );
      continue;
    }
    routes[slot] = targets(value);
    routerKey?.details.push(`${slot}: ${routes[slot].join(' → ')}`);
  }
  if (!routes.default?.length) {
    warn('Router.default is not set: a request no other scenario takes gets 503 "No route"');
  }
  const fallbackKey = keyReport(report, 'fallback');
  for (const [scenario, list] of Object.entries(config.fallback ?? {})) {
    fallbackKey?.details.push(`${scenario}: ${list.join(' → ')}`);
    if (!ROUTER_SLOTS.includes(scenario)) {
      warn(`fallback.${scenario} is not a Switchyard scenario (${ROUTER_SLOTS.join(', ')}); never used`);
    }
  }
  // The checks a hot reload applies (the boot only skips such targets when routing, as CCR did).
  for (const line of referenceProblems(config)) {
    const problem = line.replace(/^\s*-\s*/, '');
    const routing = /^(Router|fallback)\./.test(problem) ? '; skipped when routing' : '';
    warn(`${problem}${routing} (a hot reload is rejected until this is fixed)`);
  }

  if (config.CUSTOM_ROUTER_PATH) {
    const path = config.CUSTOM_ROUTER_PATH;
    const routerPathKey = keyReport(report, 'CUSTOM_ROUTER_PATH');
    if (!isAbsolute(path)) {
      warn(`CUSTOM_ROUTER_PATH "${path}" is relative: the gateway resolves it from its working directory`);
    }
    try {
      loadCustomRouter(isAbsolute(path) ? path : join(cwd, path));
      routerPathKey?.details.push(`${path}: loads, exports a function`);
    } catch (err) {
      warn(
        `CUSTOM_ROUTER_PATH ${path} does not load (${firstLine((err as Error).message)}): ` +
          'the built-in rules route every request',
      );
      routerPathKey?.details.push(`${path}: does not load`);
    }
  }

  const host = config.HOST ?? '127.0.0.1';
  if (!config.APIKEY && !['127.0.0.1', 'localhost', '::1'].includes(host)) {
    warn(
      `HOST is ${host} and APIKEY is not set: CCR would have bound 127.0.0.1; Switchyard listens on ${host} without authentication`,
    );
  }
  report.summary = {
    providers: config.Providers.length,
    targets: registry.list().length,
    routes,
  };
}

/**
 * Reads a Claude Code Router config (JSON5), says what each key becomes, converts it and validates the result
 * with Switchyard's own loader, then runs the boot-time checks that would otherwise only show as log lines.
 */
export function migrateCcrFile(file: string, env: NodeJS.ProcessEnv, cwd: string): Migration {
  const report: MigrationReport = {
    source: file,
    parsed: false,
    keys: [],
    fixes: [],
    warnings: [],
    errors: [],
    loadsAsIs: false,
    asIsErrors: [],
    valid: false,
  };
  let raw: unknown;
  try {
    raw = JSON5.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    report.errors.push(`cannot read ${file} as JSON5: ${(err as Error).message}`);
    return { report };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    report.errors.push(`${file}: the top level must be an object`);
    return { report };
  }
  report.parsed = true;
  report.keys = describeKeys(raw as Json);
  const { config, fixes } = convertCcrConfig(raw as Json, env.HOME || homedir());
  report.fixes = fixes;

  const asIs = loadFile(file, env);
  report.loadsAsIs = asIs.loaded !== undefined;
  report.asIsErrors = asIs.errors;

  const converted = validateConverted(config, env);
  report.errors = converted.errors;
  report.valid = converted.loaded !== undefined;
  if (converted.loaded) {
    report.warnings.push(...converted.loaded.warnings.map((w) => w.replace(/ \(from [^)]*\)/, '')));
    checkLoaded(converted.loaded.config, report, cwd);
  }
  return { report, config };
}
