import { createHash } from 'node:crypto';

/** What a secret is replaced with (the same word the logs use). */
export const REDACTED = '[redacted]';

/** A key name ends with one of these words ⇒ its string values are secrets. */
const SECRET_WORDS = new Set([
  'key',
  'keys',
  'apikey',
  'apikeys',
  'secret',
  'secrets',
  'token',
  'tokens',
  'password',
  'passwords',
  'passwd',
  'pwd',
  'authorization',
  'auth',
  'credential',
  'credentials',
  'cookie',
  'signature',
  'sig',
]);

/** Header values that only describe the protocol; every other header value is treated as a credential. */
const PLAIN_HEADERS = new Set([
  'accept',
  'anthropic-beta',
  'anthropic-version',
  'content-type',
  'http-referer',
  'openai-beta',
  'referer',
  'user-agent',
  'x-title',
]);

/** Shorter strings are not scrubbed out of other values (they would match by chance). */
const MIN_SCRUB_LENGTH = 4;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `api_key`, `x-api-key`, `APIKEY`, `sentinelPassword`, `accessToken` → true; `keyPrefix`, `maxTokensEstimate` → false. */
export function isSecretName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.length > 0 && SECRET_WORDS.has(words[words.length - 1]);
}

/** A URL's user info and secret-looking query values, masked; anything that is not a URL comes back as is. */
function redactUrl(value: string, found: Set<string>): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    return value;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  let changed = false;
  if (url.password) {
    // A user name alone ("default") is not scrubbed elsewhere; it is only masked here.
    found.add(decodeURIComponent(url.password));
    url.password = REDACTED;
    changed = true;
  }
  if (url.username) {
    url.username = REDACTED;
    changed = true;
  }
  for (const [name, v] of [...url.searchParams]) {
    if (v && isSecretName(name)) {
      found.add(v);
      url.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? url.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED) : value;
}

function secretValue(value: unknown, found: Set<string>): unknown {
  if (typeof value === 'string') {
    if (value !== '') {
      found.add(value);
      return REDACTED;
    }
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((v) => secretValue(v, found));
  }
  return value;
}

function walk(value: unknown, key: string | undefined, found: Set<string>): unknown {
  if (typeof value === 'string') {
    return redactUrl(value, found);
  }
  if (Array.isArray(value)) {
    return value.map((v) => walk(v, undefined, found));
  }
  if (!isObject(value)) {
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (key === 'headers' && typeof v === 'string') {
      out[k] = PLAIN_HEADERS.has(k.toLowerCase()) ? v : secretValue(v, found);
    } else if (isSecretName(k) && (typeof v === 'string' || Array.isArray(v))) {
      out[k] = secretValue(v, found);
    } else {
      out[k] = walk(v, k, found);
    }
  }
  return out;
}

/** `RateLimit.keys` is keyed by client keys: each becomes the `sha256:<hex>` spelling the config also accepts. */
function hashClientKeys(config: Record<string, unknown>, found: Set<string>): void {
  const rl = config.RateLimit;
  if (!isObject(rl) || !isObject(rl.keys)) {
    return;
  }
  const keys: Record<string, unknown> = {};
  for (const [entry, limits] of Object.entries(rl.keys)) {
    if (/^sha256:[0-9a-f]{64}$/i.test(entry)) {
      keys[entry] = limits;
    } else {
      found.add(entry);
      keys[`sha256:${createHash('sha256').update(entry).digest('hex')}`] = limits;
    }
  }
  rl.keys = keys;
}

/** Replaces every occurrence of a known secret inside strings and object keys (a key embedded in a path…). */
export function scrubSecrets<T>(value: T, secrets: Iterable<string>): T {
  const list = [...new Set(secrets)]
    .filter((s) => s.length >= MIN_SCRUB_LENGTH && s !== REDACTED)
    .sort((a, b) => b.length - a.length);
  if (list.length === 0) {
    return value;
  }
  const scrub = (text: string): string =>
    list.reduce((t, s) => (t.includes(s) ? t.replaceAll(s, REDACTED) : t), text);
  const visit = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return scrub(v);
    }
    if (Array.isArray(v)) {
      return v.map(visit);
    }
    if (isObject(v)) {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [scrub(k), visit(item)]));
    }
    return v;
  };
  return visit(value) as T;
}

/**
 * A copy of a configuration fit to be shown: provider `api_key`, `APIKEY`, Redis passwords and URL
 * credentials, header values (`Providers[].headers`, `Tracing.headers`), every string under a key whose name
 * ends in key/secret/token/password/authorization…, and any other occurrence of those values, are
 * `[redacted]`; `RateLimit.keys` entries show as `sha256:<hex>`.
 */
export function redactConfig<T>(config: T): T {
  return redactWithSecrets(config).redacted;
}

/** The secret values a configuration holds (for scrubbing them out of other answers, e.g. upstream errors). */
export function configSecrets(config: unknown): string[] {
  return [...redactWithSecrets(config).secrets];
}

/** Provider and model names: they make up every `provider,model` target the gateway shows. */
function targetNames(config: unknown): Set<string> {
  const names = new Set<string>();
  const providers = isObject(config) && Array.isArray(config.Providers) ? (config.Providers as unknown[]) : [];
  for (const p of providers) {
    if (isObject(p)) {
      for (const name of [p.name, ...(Array.isArray(p.models) ? (p.models as unknown[]) : [])]) {
        if (typeof name === 'string') {
          names.add(name);
        }
      }
    }
  }
  return names;
}

function redactWithSecrets<T>(config: T): { redacted: T; secrets: Set<string> } {
  const found = new Set<string>();
  const copy = walk(config, undefined, found);
  if (isObject(copy)) {
    hashClientKeys(copy, found);
  }
  // A placeholder key that is also a provider or model name (CCR's own example: provider "ollama" with
  // api_key "ollama") hides nothing; scrubbing it would turn every target of that provider into
  // "[redacted],model" in /api/providers, the dashboard, `switchyard status` and upstream error messages.
  const names = targetNames(config);
  const secrets = new Set([...found].filter((s) => !names.has(s)));
  return { redacted: scrubSecrets(copy, secrets) as T, secrets };
}
