/** A `$VAR` reference whose variable is not set; the field is removed so that validation decides. */
export interface UnsetReference {
  path: string;
  variable: string;
  origin: string;
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Expands `$VAR` and `${VAR}` in every string of a config value. A string that references an unset
 * variable is dropped (object key removed, array item kept as undefined) and recorded, so a required field
 * fails validation with a message naming the variable, and an optional one is simply absent.
 */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  unset: UnsetReference[],
  origin: string,
  path = '',
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('$')) {
      return value;
    }
    let missing: string | undefined;
    const out = value.replace(VAR, (_m, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare) as string;
      const v = env[name];
      if (v === undefined) {
        missing ??= name;
        return '';
      }
      return v;
    });
    if (missing !== undefined) {
      unset.push({ path, variable: missing, origin });
      return undefined;
    }
    return out;
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => interpolate(item, env, unset, origin, `${path}[${i}]`));
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const expanded = interpolate(item, env, unset, origin, path ? `${path}.${key}` : key);
      if (expanded !== undefined) {
        out[key] = expanded;
      }
    }
    return out;
  }
  return value;
}
