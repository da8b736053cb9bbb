import { join } from 'node:path';

type Json = Record<string, unknown>;

/** Top-level CCR keys that `ccr ui` writes as `""` when unset. */
export const OPTIONAL_STRING_KEYS = ['APIKEY', 'PROXY_URL', 'HOST', 'CUSTOM_ROUTER_PATH', 'LOG_LEVEL'];

/** Top-level CCR keys CCR also accepts as numeric strings. */
export const NUMERIC_KEYS = ['PORT', 'API_TIMEOUT_MS'];

/** Other spellings CCR reads for a top-level key (its server takes `config.Providers || config.providers`). */
export const CCR_KEY_ALIASES: Record<string, string> = { providers: 'Providers' };

/** The key an alias stands for, when the file does not also have that key (then CCR ignores the alias). */
export function aliasTarget(raw: Json, key: string): string | undefined {
  const target = CCR_KEY_ALIASES[key];
  return target !== undefined && !(target in raw) ? target : undefined;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const numeric = (v: unknown): number | undefined =>
  typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined;

export interface Respelled {
  /** The layer with CCR's spellings replaced by what the schema expects. */
  layer: Json;
  /** One line per change, for the migration report. */
  changes: string[];
}

/**
 * CCR accepts spellings the schema does not: `""` for an unset key, numbers as strings, `~/` in the custom
 * router path, `providers` for `Providers`. A CCR file must load unchanged, so the user file layer is read the way CCR reads it.
 */
export function respellCcrKeys(raw: Json, home: string): Respelled {
  const layer: Json = {};
  const changes: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const alias = aliasTarget(raw, key);
    if (alias !== undefined) {
      changes.push(`${key}: read as ${alias} (CCR accepts both spellings)`);
      layer[alias] = value;
      continue;
    }
    if (OPTIONAL_STRING_KEYS.includes(key) && typeof value === 'string' && value.trim() === '') {
      changes.push(`${key}: the empty value is left out (CCR reads "" as unset)`);
      continue;
    }
    const n = numeric(value);
    if (NUMERIC_KEYS.includes(key) && n !== undefined) {
      changes.push(`${key}: "${String(value)}" read as the number ${n}`);
      layer[key] = n;
      continue;
    }
    if (
      key === 'CUSTOM_ROUTER_PATH' &&
      typeof value === 'string' &&
      (value === '~' || value.startsWith('~/'))
    ) {
      const expanded = join(home, value.slice(1));
      changes.push(`${key}: "${value}" read as ${expanded}`);
      layer[key] = expanded;
      continue;
    }
    if (key === 'Router' && isObject(value)) {
      layer[key] = respellRouter(value, changes);
      continue;
    }
    layer[key] = value;
  }
  return { layer, changes };
}

/** `ccr ui` writes `""` for a scenario slot left unset, and the threshold as a string. */
function respellRouter(router: Json, changes: string[]): Json {
  const out: Json = {};
  for (const [slot, value] of Object.entries(router)) {
    if (typeof value === 'string' && value.trim() === '') {
      changes.push(`Router.${slot}: the empty value is left out (CCR reads "" as unset)`);
      continue;
    }
    const threshold = slot === 'longContextThreshold' ? numeric(value) : undefined;
    if (threshold !== undefined) {
      changes.push(`Router.longContextThreshold: "${String(value)}" read as ${threshold}`);
      out[slot] = threshold;
      continue;
    }
    out[slot] = value;
  }
  return out;
}
