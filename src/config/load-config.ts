import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import JSON5 from 'json5';
import {
  IGNORED_CCR_KEYS,
  KNOWN_TOP_LEVEL_KEYS,
  configSchema,
  logLevel,
  type SwitchyardConfig,
} from './config.schema';
import { respellCcrKeys } from './ccr-spellings';
import { interpolate, type UnsetReference } from './interpolate';

/**
 * A configuration problem that stops the boot (or rejects a hot reload); the message names the key path, the
 * problem and the file.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: SwitchyardConfig;
  /** Files read, in layer order. */
  sources: string[];
  /** One line per unsupported key or ignored unset variable; logged once at boot. */
  warnings: string[];
  /** The user file used, if any. */
  userFile?: string;
  nodeEnv: string;
  /** Folder of the default and `<NODE_ENV>` layers. */
  configDir: string;
  /** The options this load used: a hot reload loads again with the same ones (environment, overrides). */
  options: LoadOptions;
}

export interface LoadOptions {
  /** Environment to read (defaults to process.env); tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Folder holding default.json and <NODE_ENV>.json. */
  configDir?: string;
  /** Deep-merged after every other layer (tests and the CLI use it). */
  overrides?: Record<string, unknown>;
  /** `--role` on the command line: wins over SWITCHYARD_ROLE and the files; a bad value names the flag. */
  role?: string;
}

type Json = Record<string, unknown>;

/** The repo's config/ folder, both from src/config (ts) and dist/config (js). */
export const DEFAULT_CONFIG_DIR = resolve(__dirname, '..', '..', 'config');

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function readJsonFile(file: string, json5: boolean): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = json5 ? JSON5.parse(text) : JSON.parse(text);
    if (!isObject(parsed)) {
      throw new Error('the top level must be an object');
    }
    return parsed;
  } catch (err) {
    throw new ConfigError(`invalid ${json5 ? 'JSON5' : 'JSON'} in ${file}: ${(err as Error).message}`);
  }
}

/** Deep merge where later wins; arrays replace. Records which layer set each path. */
function mergeInto(
  target: Json,
  source: Json,
  origin: string,
  provenance: Map<string, string>,
  prefix = '',
): void {
  for (const [key, value] of Object.entries(source)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isObject(value) && isObject(target[key])) {
      mergeInto(target[key], value, origin, provenance, path);
    } else {
      target[key] = isObject(value) ? structuredClone(value) : value;
      provenance.set(path, origin);
    }
  }
}

/** The `<NODE_ENV>` names that have a file in the config folder. */
function environmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json') && name !== 'default.json')
    .map((name) => name.slice(0, -'.json'.length))
    .sort();
}

/**
 * Environment variables that are part of the product's interface (README, docs/configuration.md), one layer
 * per variable so that a problem names the variable it came from.
 */
function envLayers(env: NodeJS.ProcessEnv): Array<[variable: string, layer: Json]> {
  const layers: Array<[string, Json]> = [];
  const port = env.PORT;
  if (port !== undefined && port !== '') {
    layers.push(['PORT', { PORT: /^\d+$/.test(port) ? Number(port) : port }]);
  }
  if (env.HOST) {
    layers.push(['HOST', { HOST: env.HOST }]);
  }
  if (env.LOG_LEVEL) {
    layers.push(['LOG_LEVEL', { LOG_LEVEL: env.LOG_LEVEL }]);
  }
  if (env.SWITCHYARD_API_KEY) {
    layers.push(['SWITCHYARD_API_KEY', { APIKEY: env.SWITCHYARD_API_KEY }]);
  }
  if (env.SWITCHYARD_ROLE) {
    layers.push(['SWITCHYARD_ROLE', { JobQueue: { role: env.SWITCHYARD_ROLE } }]);
  }
  if (env.REDIS_URL) {
    layers.push(['REDIS_URL', { Redis: { url: env.REDIS_URL, enabled: true } }]);
  }
  return layers;
}

function describeUserFile(env: NodeJS.ProcessEnv): string | undefined {
  if (env.SWITCHYARD_CONFIG) {
    const file = resolve(env.SWITCHYARD_CONFIG);
    if (!existsSync(file)) {
      throw new ConfigError(`SWITCHYARD_CONFIG points to ${file}, which does not exist`);
    }
    return file;
  }
  const home = env.HOME ?? homedir();
  const ccr = join(home, '.claude-code-router', 'config.json');
  return existsSync(ccr) ? ccr : undefined;
}

function isLoopback(host: string | undefined): boolean {
  return host === undefined || host === '127.0.0.1' || host === 'localhost' || host === '::1';
}

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') {
      return `${acc}[${part}]`;
    }
    return acc ? `${acc}.${String(part)}` : String(part);
  }, '');
}

function originOf(path: string, provenance: Map<string, string>): string {
  let p = path;
  for (;;) {
    const hit = provenance.get(p.replace(/\[\d+\].*$/, '')) ?? provenance.get(p);
    if (hit) {
      return hit;
    }
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) {
      return 'built-in defaults';
    }
    p = p.slice(0, cut);
  }
}

/**
 * Loads the layered configuration: config/default.json → config/<NODE_ENV>.json → the user file
 * (SWITCHYARD_CONFIG, else ~/.claude-code-router/config.json; JSON5 allowed) → environment variables.
 * `$VAR` / `${VAR}` are expanded in every string. Validation happens once, here.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const dir = options.configDir ?? DEFAULT_CONFIG_DIR;
  const nodeEnv = env.NODE_ENV || 'development';
  const merged: Json = {};
  const provenance = new Map<string, string>();
  const sources: string[] = [];
  const warnings: string[] = [];
  const unset: UnsetReference[] = [];

  const addLayer = (layer: Json, origin: string): void => {
    const expanded = interpolate(layer, env, unset, origin) as Json;
    mergeInto(merged, expanded, origin, provenance);
  };

  const defaultsFile = join(dir, 'default.json');
  addLayer(readJsonFile(defaultsFile, false), defaultsFile);
  sources.push(defaultsFile);
  const envFile = join(dir, `${nodeEnv}.json`);
  if (existsSync(envFile)) {
    addLayer(readJsonFile(envFile, false), envFile);
    sources.push(envFile);
  } else {
    // Not fatal (the other layers are a complete config), but a typo'd or new NODE_ENV is silently running
    // without the settings its operator expects from the environment file.
    warnings.push(
      `NODE_ENV=${nodeEnv} has no environment file ${envFile}: only the defaults, the user file and the ` +
        `environment apply (environment files in ${dir}: ${environmentFiles(dir).join(', ') || 'none'})`,
    );
  }
  const userFile = describeUserFile(env);
  if (userFile) {
    const user = respellCcrKeys(readJsonFile(userFile, true), env.HOME ?? homedir()).layer;
    for (const key of Object.keys(user)) {
      if (IGNORED_CCR_KEYS.has(key)) {
        warnings.push(
          `config key "${key}" (from ${userFile}) is a Claude Code Router setting Switchyard does not use; ignored`,
        );
      } else if (!KNOWN_TOP_LEVEL_KEYS.has(key)) {
        warnings.push(`config key "${key}" (from ${userFile}) is not supported by this version; ignored`);
      }
    }
    addLayer(user, userFile);
    sources.push(userFile);
  }
  for (const [variable, layer] of envLayers(env)) {
    mergeInto(merged, layer, `environment variable ${variable}`, provenance);
  }
  if (options.role !== undefined) {
    mergeInto(merged, { JobQueue: { role: options.role } }, 'command-line flag --role', provenance);
  }
  if (options.overrides) {
    mergeInto(merged, options.overrides, 'overrides', provenance);
  }
  // CCR's LOG_LEVEL (user file or environment) drives the seed's Logging.level. An invalid one is left to
  // fail as LOG_LEVEL, where it was written, not a second time as the Logging.level of a valid file.
  if (isObject(merged.Logging) && logLevel.safeParse(merged.LOG_LEVEL).success) {
    merged.Logging.level = merged.LOG_LEVEL;
    provenance.set('Logging.level', originOf('LOG_LEVEL', provenance));
  }
  for (const key of Object.keys(merged)) {
    if (!KNOWN_TOP_LEVEL_KEYS.has(key)) {
      delete merged[key];
    }
  }

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = formatPath(issue.path);
      const ref = unset.find(
        (u) => u.path === path || path.startsWith(`${u.path}.`) || path.startsWith(`${u.path}[`),
      );
      const problem = ref ? `environment variable $${ref.variable} is not set` : issue.message;
      return `  - ${path || '(root)'}: ${problem} (from ${ref?.origin ?? originOf(path, provenance)})`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  for (const ref of unset) {
    warnings.push(
      `${ref.path} (from ${ref.origin}) references unset environment variable $${ref.variable}; left empty`,
    );
  }
  const config = parsed.data;
  const ccrFile = env.SWITCHYARD_CONFIG ? undefined : userFile;
  if (ccrFile && originOf('HOST', provenance) === ccrFile && !config.APIKEY && !isLoopback(config.HOST)) {
    // CCR's own rule for its config file: without APIKEY it listens on 127.0.0.1 whatever HOST says, so a
    // CCR user's file never turns into an unauthenticated proxy on the network here either.
    warnings.push(
      `HOST ${config.HOST} (from ${ccrFile}) without APIKEY: listening on 127.0.0.1, as Claude Code Router ` +
        'does; set APIKEY to expose the gateway, or HOST in the environment or a SWITCHYARD_CONFIG file',
    );
    config.HOST = '127.0.0.1';
  }
  return { config, sources, warnings, userFile, nodeEnv, configDir: dir, options };
}
