import { ToolNameMap } from '../../protocol/tool-ids';
import type { CanonicalRequest, StreamEvent } from '../../protocol/types';
import {
  applyRequestHooks,
  asProviderError,
  fromArray,
  hookedCall,
  isEventStream,
  postJson,
  readJsonAnswer,
  transformChain,
  transformContext,
  type AdapterDeps,
} from '../adapter-support';
import { eventIterable, readSse } from '../event-stream';
import {
  ProviderError,
  type ProviderAdapter,
  type Target,
  type UpstreamCallContext,
} from '../provider.types';
import type { UpstreamBody } from '../upstream.client';
import { midStreamErrorPayload } from '../upstream-errors';
import { anthropicToGeminiRequest, GeminiStreamToAnthropic } from './gemini.codec';

/**
 * CCR style `…/v1beta/models/` or a bare `…/v1beta`: the model and method are appended either way.
 * Streams use `alt=sse` (real SSE framing instead of one long JSON array).
 */
export function geminiUrl(base: string, model: string, stream: boolean): string {
  const url = new URL(base);
  const path = url.pathname.replace(/\/+$/, '');
  const id = encodeURIComponent(model.replace(/^models\//, ''));
  const prefix = path.endsWith('/models') ? path : `${path}/models`;
  url.pathname = `${prefix}/${id}:${stream ? 'streamGenerateContent' : 'generateContent'}`;
  if (stream) {
    url.searchParams.set('alt', 'sse');
  }
  return url.toString();
}

/** Anthropic Messages → Google Gemini (Generative Language API). */
export class GeminiAdapter implements ProviderAdapter {
  readonly kind = 'gemini' as const;

  constructor(private readonly deps: AdapterDeps) {}

  async send(
    req: CanonicalRequest,
    target: Target,
    ctx: UpstreamCallContext,
  ): Promise<AsyncIterable<StreamEvent>> {
    const stream = req.stream === true;
    // One map for the request and its answer: names over 64 characters are shortened and mapped back.
    const toolNames = new ToolNameMap();
    const base = asProviderError(
      () => anthropicToGeminiRequest(req, { maxTokensCap: target.provider.maxTokens, toolNames }),
      target.provider.name,
    );
    const tctx = transformContext(target, this.kind, req);
    const body = await applyRequestHooks(transformChain(this.deps, target), base, tctx);
    const headers: Record<string, string> = { accept: stream ? 'text/event-stream' : 'application/json' };
    if (target.provider.api_key) {
      headers['x-goog-api-key'] = target.provider.api_key;
    }
    const call = hookedCall(tctx, geminiUrl(target.provider.api_base_url, target.model, stream), headers);
    const res = await postJson(this.deps, target, call.url, call.headers, body, ctx);
    const conv = new GeminiStreamToAnthropic({
      model: ctx.clientModel,
      inputTokensEstimate: ctx.inputTokensEstimate,
      toolNames,
    });
    if (isEventStream(res)) {
      return eventIterable(this.relay(res.body, conv, ctx), res.body);
    }
    const json = await readJsonAnswer(res, target, ctx);
    const events = asProviderError(
      () => [...conv.start(), ...conv.push(json), ...conv.end()],
      target.provider.name,
      'answer',
    );
    const last = events[events.length - 1];
    if (last?.type === 'error') {
      // Still before the commit point: a failed non-stream answer is a (retryable) ProviderError.
      throw new ProviderError(`${target.provider.name}: ${last.error.message}`, {
        status: 502,
        kind: 'protocol',
      });
    }
    return fromArray(events);
  }

  private async *relay(
    body: UpstreamBody,
    conv: GeminiStreamToAnthropic,
    ctx: UpstreamCallContext,
  ): AsyncGenerator<StreamEvent, void, undefined> {
    yield* conv.start();
    try {
      for await (const msg of readSse(body as AsyncIterable<Uint8Array>, () => body.destroy())) {
        let json: unknown;
        try {
          json = JSON.parse(msg.data);
        } catch {
          continue; // keep-alive noise
        }
        yield* conv.push(json);
        if (conv.finished) {
          return; // an error chunk ended it
        }
      }
      yield* conv.end();
    } catch (err) {
      yield* conv.fail(midStreamErrorPayload(err, ctx.signal));
    }
  }
}
