import { GatewayError } from '../protocol/errors';
import { stringifyWithInterned } from '../protocol/toolset-intern';
import type { CanonicalRequest, StreamEvent } from '../protocol/types';
import { readCappedText, readJson } from './event-stream';
import { ProviderError, type ProviderKind, type Target, type UpstreamCallContext } from './provider.types';
import type { TransformerRegistry } from './transformers/transformer.registry';
import type { JsonObject, TransformContext, Transformer } from './transformers/transformer.types';
import { providerTransport, type UpstreamClient, type UpstreamResponse } from './upstream.client';
import {
  classifyTransportError,
  internalConversionError,
  providerErrorFromResponse,
  type ConversionStage,
} from './upstream-errors';

/** What every adapter is built from (plain object: DI-friendly). */
export interface AdapterDeps {
  client: UpstreamClient;
  transformers?: TransformerRegistry;
}

/** A client header as one string (`anthropic-beta` may arrive repeated: the SDK joins them with ','). */
export function clientHeader(ctx: UpstreamCallContext, name: string): string | undefined {
  const v = ctx.clientHeaders[name];
  if (Array.isArray(v)) {
    return v.length ? v.join(',') : undefined;
  }
  return v || undefined;
}

export function transformChain(deps: AdapterDeps, target: Target): Transformer[] {
  return deps.transformers?.chainFor(target.provider, target.model).transformers ?? [];
}

export function transformContext(
  target: Target,
  kind: ProviderKind,
  req: CanonicalRequest,
): TransformContext {
  return { provider: target.provider, model: target.model, kind, request: req, stream: req.stream === true };
}

/** Runs the chain's `request` hooks in order over the final upstream body. */
export async function applyRequestHooks(
  chain: Transformer[],
  body: JsonObject,
  ctx: TransformContext,
): Promise<JsonObject> {
  if (!chain.some((t) => t.request)) {
    return body;
  }
  // Converted bodies may share objects (tool schemas, inputs) with the canonical request, which a failover
  // or cache key still needs untouched: hooks get a private copy to mutate.
  let out = structuredClone(body);
  for (const t of chain) {
    if (t.request) {
      const hook = t.request.bind(t);
      const input = out;
      out = await runHook(t.name, () => hook(input, ctx));
    }
  }
  return out;
}

/**
 * Runs one transformer hook. A throwing (custom) transformer is a configuration error: a 500 naming it,
 * never retried on another provider.
 */
export async function runHook<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new ProviderError(
      `transformer "${name}" failed: ${err instanceof Error ? err.message : String(err)}`,
      {
        status: 500,
        kind: 'protocol',
        retryable: false,
        cause: err,
      },
    );
  }
}

/** The endpoint and headers of the call after the request hooks: a hook's `ctx.upstream` wins. */
export function hookedCall(
  tctx: TransformContext,
  url: string,
  headers: Record<string, string>,
): { url: string; headers: Record<string, string> } {
  const out = { ...headers };
  for (const [k, v] of Object.entries(tctx.upstream?.headers ?? {})) {
    if (k.toLowerCase() !== 'content-length') {
      out[k.toLowerCase()] = v;
    }
  }
  return { url: tctx.upstream?.url ?? url, headers: out };
}

/** Extra headers configured on the provider; they win over ours except for the body framing. */
export function withProviderHeaders(target: Target, headers: Record<string, string>): Record<string, string> {
  const out = { ...headers };
  for (const [k, v] of Object.entries(target.provider.headers ?? {})) {
    if (typeof v === 'string' && k.toLowerCase() !== 'content-length') {
      out[k.toLowerCase()] = v;
    }
  }
  return out;
}

/**
 * The upstream body's JSON text: JSON.stringify(body), byte for byte, except that members holding an
 * interned, deep-frozen value (a Claude Code toolset, as is or converted to OpenAI tools) are spliced in
 * from their memoised text instead of being serialised again (~63 KB per Claude Code request). A member a
 * transformer hook replaced or rewrote is a copy (hooks work on a structuredClone), so it is serialised.
 */
export function upstreamBodyText(body: JsonObject): string {
  return stringifyWithInterned(body);
}

/**
 * POSTs JSON upstream and returns the response only when it is 2xx; anything else becomes a ProviderError
 * carrying the upstream status, message and retry hints (the pre-commit failure path).
 */
export async function postJson(
  deps: AdapterDeps,
  target: Target,
  url: string,
  headers: Record<string, string>,
  body: JsonObject,
  ctx: UpstreamCallContext,
): Promise<UpstreamResponse> {
  const transport = providerTransport(target.provider);
  const res = await deps.client.request({
    url,
    method: 'POST',
    headers: withProviderHeaders(target, { 'content-type': 'application/json', ...headers }),
    body: upstreamBodyText(body),
    signal: ctx.signal,
    timeouts: transport.timeouts,
    pool: transport.pool,
  });
  if (res.statusCode >= 200 && res.statusCode < 300) {
    return res;
  }
  let text = '';
  try {
    text = await readCappedText(res.body);
  } catch (err) {
    ctx.logger?.debug({ err, provider: target.provider.name }, 'upstream error body unreadable');
  }
  throw providerErrorFromResponse(res.statusCode, res.headers, text, target.provider);
}

export function isEventStream(res: UpstreamResponse): boolean {
  const ct = res.headers['content-type'];
  return (Array.isArray(ct) ? ct.join(',') : (ct ?? '')).toLowerCase().includes('text/event-stream');
}

/**
 * Reads a non-stream answer before `send` resolves: a body cut half-way is then still a retryable
 * ProviderError (failover can act), not a terminal event.
 */
export async function readJsonAnswer(
  res: UpstreamResponse,
  target: Target,
  ctx: UpstreamCallContext,
): Promise<JsonObject> {
  let json: unknown;
  try {
    json = await readJson(res.body);
  } catch (err) {
    if (err instanceof SyntaxError) {
      throw new ProviderError(`${target.provider.name}: upstream sent invalid JSON`, {
        status: 502,
        kind: 'protocol',
        cause: err,
      });
    }
    throw classifyTransportError(err, ctx.signal, target.provider.name);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ProviderError(`${target.provider.name}: upstream answer is not a JSON object`, {
      status: 502,
      kind: 'protocol',
    });
  }
  return json as JsonObject;
}

/**
 * Protocol conversions throw GatewayError (bad request shape, upstream answer without choices…); before
 * the commit point the adapter contract is ProviderError, so they are re-typed here with their status.
 * Anything else a conversion throws (TypeError, a stack overflow) is a bug of ours, not the target's:
 * a non-retryable 500 that keeps its text out of the client's answer and off the target's breaker.
 * `stage` names what was being converted (the request before the upstream call, by default).
 */
export function asProviderError<T>(fn: () => T, origin: string, stage: ConversionStage = 'request'): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof GatewayError) {
      throw new ProviderError(`${origin}: ${err.message}`, {
        status: err.status,
        kind: 'protocol',
        // A request we cannot convert fails the same way everywhere; an upstream failure may not.
        retryable: err.status >= 500,
        upstreamType: err.type,
        cause: err,
      });
    }
    if (err instanceof ProviderError) {
      throw err;
    }
    throw internalConversionError(err, origin, stage);
  }
}

/** Events already in memory, as the async iterable `send` promises. */
export async function* fromArray(events: StreamEvent[]): AsyncGenerator<StreamEvent, void, undefined> {
  for (const ev of events) {
    yield ev;
  }
}
