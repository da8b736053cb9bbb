import { IGNORED_CCR_KEYS, KNOWN_TOP_LEVEL_KEYS } from '../config/config.schema';
import { aliasTarget, respellCcrKeys } from '../config/ccr-spellings';
import { CCR_KEY_NOTES } from './ccr-keys';

type Json = Record<string, unknown>;


/**
 * - `used`: Switchyard reads it with CCR's meaning;
 * - `switchyard`: a Switchyard section (the file already had it);
 * - `ignored`: a CCR setting Switchyard accepts but does not use (IGNORED_CCR_KEYS);
 * - `unsupported`: unknown to this version.
 */
export type KeyStatus = 'used' | 'switchyard' | 'ignored' | 'unsupported';

export interface KeyReport {
  key: string;
  status: KeyStatus;
  /** Where it lives in Switchyard. */
  target?: string;
  note: string;
  /** Nested findings (per provider, per Router slot, …), filled in after the load. */
  details: string[];
}

/** Each top-level key of a CCR file, classified by the schema's own key sets. */
export function describeKeys(raw: Json): KeyReport[] {
  return Object.keys(raw).map((key): KeyReport => {
    const known = CCR_KEY_NOTES[key];
    const alias = aliasTarget(raw, key);
    if (alias !== undefined) {
      return { key, status: 'used', target: alias, note: `read as ${alias} (CCR accepts both spellings)`, details: [] };
    }
    if (IGNORED_CCR_KEYS.has(key)) {
      return {
        key,
        status: 'ignored',
        note: known?.note ?? 'a CCR setting Switchyard does not use',
        details: [],
      };
    }
    if (!KNOWN_TOP_LEVEL_KEYS.has(key)) {
      return {
        key,
        status: 'unsupported',
        note: known?.note ?? 'not a Claude Code Router or Switchyard setting known to this version',
        details: [],
      };
    }
    if (known) {
      return { key, status: 'used', target: known.target, note: known.note, details: [] };
    }
    return {
      key,
      status: 'switchyard',
      target: key,
      note: 'a Switchyard section (docs/configuration.md), kept',
      details: [],
    };
  });
}

export interface Conversion {
  config: Json;
  /** What the written file changes compared to the source, one line each. */
  fixes: string[];
}

/**
 * The Switchyard config for a CCR file: keys Switchyard does not use are left out, and CCR's spellings the
 * schema does not take (`""` for unset, numbers as strings, `~/` paths) are written the way the loader reads
 * them. Everything else is copied as written — `$VAR` references stay references, so no secret from the
 * environment ends up in the file.
 */
export function convertCcrConfig(raw: Json, home: string): Conversion {
  const respelled = respellCcrKeys(raw, home);
  const kept: Json = {};
  const fixes: string[] = [];
  for (const [key, value] of Object.entries(respelled.layer)) {
    if (IGNORED_CCR_KEYS.has(key)) {
      fixes.push(`${key}: left out (a CCR setting Switchyard does not use)`);
    } else if (!KNOWN_TOP_LEVEL_KEYS.has(key)) {
      fixes.push(`${key}: left out (not supported by this version)`);
    } else {
      kept[key] = structuredClone(value);
    }
  }
  return { config: kept, fixes: [...fixes, ...respelled.changes] };
}
