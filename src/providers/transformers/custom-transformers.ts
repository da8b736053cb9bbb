import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { isObject } from './json-utils';
import type {
  JsonObject,
  ResponseTransform,
  TransformContext,
  Transformer,
  TransformerFactory,
} from './transformer.types';

/** One entry of the config's top-level `transformers` array (CCR shape). */
export interface CustomTransformerEntry {
  path: string;
  options?: JsonObject;
}

export interface LoadedTransformers {
  transformers: Array<{ name: string; factory: TransformerFactory }>;
  warnings: string[];
}

/** The CCR `Transformer` surface we honour (its client-side `transformRequestOut`/`auth` do not apply here). */
interface CcrLike {
  name?: string;
  transformRequestIn?(request: JsonObject, provider: JsonObject, context: JsonObject): unknown;
  transformResponseOut?(response: Response, context: JsonObject): unknown;
}

type Ctor = new (options?: JsonObject) => unknown;

function isOurs(v: unknown): v is Transformer {
  return (
    isObject(v) &&
    typeof v.name === 'string' &&
    (typeof v.request === 'function' ||
      typeof v.requestOptions === 'function' ||
      typeof v.response === 'function')
  );
}

/** CCR passes its own provider shape to transformRequestIn. */
function ccrProvider(ctx: TransformContext): JsonObject {
  const p = ctx.provider;
  return { name: p.name, baseUrl: p.api_base_url, apiKey: p.api_key, models: p.models };
}

function ccrContext(ctx: TransformContext): JsonObject {
  return { model: ctx.model, kind: ctx.kind, stream: ctx.stream, req: ctx.request };
}

/** The `config` of a CCR `{ body, config }` answer, as upstream overrides (anything unusable is left out). */
function ccrCallConfig(config: unknown): { url?: string; headers?: Record<string, string> } {
  if (!isObject(config)) {
    return {};
  }
  const out: { url?: string; headers?: Record<string, string> } = {};
  const url = config.url instanceof URL ? config.url.href : config.url;
  if (typeof url === 'string' && /^https?:\/\//i.test(url)) {
    out.url = url;
  }
  const raw = config.headers instanceof Headers ? Object.fromEntries(config.headers.entries()) : config.headers;
  if (isObject(raw)) {
    const headers = Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === 'string');
    if (headers.length > 0) {
      out.headers = Object.fromEntries(headers);
    }
  }
  return out;
}

/** Adapts a CCR transformer instance: requestIn on the OpenAI body, responseOut on a web Response. */
function fromCcr(inst: CcrLike, name: string): Transformer {
  const t: { name: string; request?: Transformer['request']; response?: Transformer['response'] } = { name };
  if (typeof inst.transformRequestIn === 'function') {
    t.request = async (body, ctx) => {
      const out = await inst.transformRequestIn!(body, ccrProvider(ctx), ccrContext(ctx));
      // CCR (musistudio/llms) also takes `{ body, config }` from transformRequestIn: `body` is sent, to
      // `config.url` (a URL or string) with `config.headers` over the usual ones.
      if (isObject(out) && isObject(out.body)) {
        ctx.upstream = { ...ctx.upstream, ...ccrCallConfig(out.config) };
        return out.body;
      }
      return isObject(out) ? out : body;
    };
  }
  if (typeof inst.transformResponseOut === 'function') {
    t.response = (ctx): ResponseTransform => ({
      body: async (json) => {
        const res = (await inst.transformResponseOut!(
          new Response(JSON.stringify(json), { headers: { 'content-type': 'application/json' } }),
          ccrContext(ctx),
        )) as Response;
        return (await res.json()) as JsonObject;
      },
      bytes: (source) => ccrStream(inst, source, ctx),
    });
  }
  return t;
}

async function* ccrStream(
  inst: CcrLike,
  source: AsyncIterable<Uint8Array>,
  ctx: TransformContext,
): AsyncGenerator<Uint8Array> {
  const web = Readable.toWeb(Readable.from(source)) as unknown as ReadableStream<Uint8Array>;
  const res = (await inst.transformResponseOut!(
    new Response(web, { headers: { 'content-type': 'text/event-stream' } }),
    ccrContext(ctx),
  )) as Response;
  if (!res.body) {
    return;
  }
  yield* res.body as unknown as WebReadableStream<Uint8Array>;
}

function expandPath(path: string, baseDir: string): string {
  const p = path.startsWith('~/') ? resolve(homedir(), path.slice(2)) : path;
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

function toTransformer(mod: unknown, options: JsonObject): { make: TransformerFactory; name: string } {
  const exported: unknown = isObject(mod) && 'default' in mod && mod.default ? mod.default : mod;
  const build = (opts: JsonObject): unknown => {
    if (typeof exported === 'function') {
      return new (exported as Ctor)(opts);
    }
    return exported;
  };
  const probe = build(options);
  const staticName =
    typeof exported === 'function' ? (exported as { TransformerName?: unknown }).TransformerName : undefined;
  const name =
    (isObject(probe) && typeof probe.name === 'string' && probe.name) ||
    (typeof staticName === 'string' && staticName);
  if (!name) {
    throw new Error('module exports no transformer with a `name`');
  }
  const adapt = (inst: unknown): Transformer => {
    if (isOurs(inst)) {
      return inst;
    }
    if (
      isObject(inst) &&
      (typeof inst.transformRequestIn === 'function' || typeof inst.transformResponseOut === 'function')
    ) {
      return fromCcr(inst, name);
    }
    throw new Error('module implements neither request/response nor transformRequestIn/transformResponseOut');
  };
  adapt(probe);
  return {
    name,
    // Per-use options (["name", {...}]) extend the module-level options from the `transformers` entry.
    make: (useOptions) =>
      typeof exported === 'function' ? adapt(build({ ...options, ...useOptions })) : adapt(probe),
  };
}

/**
 * Loads custom transformer modules (CommonJS; `module.exports` or `exports.default`). A broken module is
 * reported as a warning and skipped: one bad plug-in must not stop the gateway from booting.
 */
export function loadCustomTransformers(
  entries: CustomTransformerEntry[] | undefined,
  opts: { baseDir?: string } = {},
): LoadedTransformers {
  const result: LoadedTransformers = { transformers: [], warnings: [] };
  for (const entry of entries ?? []) {
    if (!entry || typeof entry.path !== 'string') {
      result.warnings.push(`custom transformer entry ${JSON.stringify(entry)} has no path; ignored`);
      continue;
    }
    const file = expandPath(entry.path, opts.baseDir ?? process.cwd());
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod: unknown = require(file);
      const { name, make } = toTransformer(mod, entry.options ?? {});
      result.transformers.push({ name, factory: make });
    } catch (err) {
      result.warnings.push(
        `custom transformer ${file} not loaded: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return result;
}
