type Schema = Record<string, unknown>;

/**
 * Keys Gemini's OpenAPI-subset `Schema` rejects with 400 "Invalid JSON payload … Unknown name" (or that
 * make no sense without $ref support). Claude Code's tool schemas (zod-to-json-schema output) carry several.
 */
const REJECTED = new Set([
  '$schema',
  '$id',
  '$comment',
  '$defs',
  'definitions',
  'additionalProperties',
  'unevaluatedProperties',
  'patternProperties',
  'propertyNames',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'default',
  'examples',
  'dependentRequired',
  'dependentSchemas',
  'if',
  'then',
  'else',
  'not',
  'contentEncoding',
  'contentMediaType',
  'strict',
  'const',
  'oneOf',
  'allOf',
  'readOnly',
  'writeOnly',
  'deprecated',
]);

/** Gemini accepts only these `format`s on strings (anything else: 400). */
const STRING_FORMATS = new Set(['enum', 'date-time']);
const MAX_DEPTH = 32;

function isObj(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function resolveRef(ref: string, root: Schema): Schema | undefined {
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m) {
    return undefined;
  }
  const defs = root[m[1]];
  const target = isObj(defs) ? defs[decodeURIComponent(m[2])] : undefined;
  return isObj(target) ? target : undefined;
}

function clean(schema: Schema, root: Schema, depth: number): Schema {
  if (depth > MAX_DEPTH) {
    return { type: 'object' }; // recursive $ref: cut instead of looping forever
  }
  let src = schema;
  if (typeof src.$ref === 'string') {
    const target = resolveRef(src.$ref, root);
    const { $ref: _ref, ...rest } = src;
    src = target ? { ...target, ...rest } : rest;
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(src)) {
    if (REJECTED.has(key) || key === '$ref') {
      continue;
    }
    out[key] = value;
  }
  // const → single-value enum; oneOf → anyOf; allOf → its first member merged in (lossy but accepted).
  if (src.const !== undefined && out.enum === undefined) {
    out.enum = [src.const];
  }
  const variants = Array.isArray(src.anyOf) ? src.anyOf : Array.isArray(src.oneOf) ? src.oneOf : undefined;
  if (Array.isArray(src.allOf) && isObj(src.allOf[0])) {
    const base = clean(src.allOf[0], root, depth + 1);
    for (const [k, v] of Object.entries(base)) {
      if (!(k in out)) {
        out[k] = v;
      }
    }
  }
  if (Array.isArray(out.type)) {
    const types = out.type.filter((t) => t !== 'null');
    if (types.length < out.type.length) {
      out.nullable = true;
    }
    if (types.length === 1) {
      out.type = types[0];
    } else {
      delete out.type;
      out.anyOf = types.map((t) => ({ type: t }));
    }
  }
  if (variants) {
    const nonNull = variants.filter((v) => !(isObj(v) && v.type === 'null'));
    if (nonNull.length < variants.length) {
      out.nullable = true;
    }
    out.anyOf = nonNull.filter(isObj).map((v) => clean(v, root, depth + 1));
  }
  if (out.type === 'string' && typeof out.format === 'string' && !STRING_FORMATS.has(out.format)) {
    delete out.format;
  }
  if (Array.isArray(out.enum)) {
    out.enum = out.enum.filter((v) => v !== null).map(String); // Gemini enums are string-only
    if (!out.type) {
      out.type = 'string';
    }
  }
  if (isObj(out.properties)) {
    const props: Schema = {};
    for (const [name, sub] of Object.entries(out.properties)) {
      props[name] = isObj(sub) ? clean(sub, root, depth + 1) : sub;
    }
    out.properties = props;
    if (Array.isArray(out.required)) {
      out.required = out.required.filter((r) => typeof r === 'string' && r in props);
    }
  } else if (Array.isArray(out.required)) {
    delete out.required;
  }
  if (isObj(out.items)) {
    out.items = clean(out.items, root, depth + 1);
  } else if (Array.isArray(out.items)) {
    out.items = isObj(out.items[0]) ? clean(out.items[0], root, depth + 1) : { type: 'string' };
  }
  return out;
}

/** JSON Schema → Gemini Schema. Pure; never mutates its input. */
export function cleanGeminiSchema(schema: unknown): Schema {
  return isObj(schema) ? clean(schema, schema, 0) : { type: 'object' };
}

/** Function parameters: an object schema without properties is rejected, so it is omitted instead. */
export function geminiParameters(inputSchema: unknown): Schema | undefined {
  const cleaned = cleanGeminiSchema(inputSchema);
  if (
    cleaned.type === 'object' &&
    (!isObj(cleaned.properties) || Object.keys(cleaned.properties).length === 0)
  ) {
    return undefined;
  }
  return cleaned;
}
