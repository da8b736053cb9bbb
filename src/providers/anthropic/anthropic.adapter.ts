import { messageToEvents } from '../../protocol/accumulate';
import { prepareAnthropicUpstream } from '../../protocol/anthropic-passthrough';
import type { SseMessage } from '../../protocol/sse';
import type {
  CanonicalRequest,
  ErrorPayload,
  MessageResponse,
  StreamEvent,
  Usage,
} from '../../protocol/types';
import { emptyUsage, withAllCounters } from '../../protocol/usage';
import {
  applyRequestHooks,
  hookedCall,
  asProviderError,
  clientHeader,
  fromArray,
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
import { memoByString } from '../../common/memo-by-string';
import { providerHost } from '../provider-host';
import type { UpstreamBody } from '../upstream.client';
import { midStreamErrorPayload, providerErrorFromResponse } from '../upstream-errors';

const DEFAULT_VERSION = '2023-06-01';
const STREAM_TYPES = new Set([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
  'ping',
]);
const ERROR_TYPES = new Set<string>([
  'invalid_request_error',
  'authentication_error',
  'billing_error',
  'permission_error',
  'not_found_error',
  'conflict_error',
  'request_too_large',
  'rate_limit_error',
  'api_error',
  'timeout_error',
  'overloaded_error',
]);
/** Fields count_tokens accepts; anything else (max_tokens, stream, metadata…) is a 400 there. */
const COUNT_FIELDS = [
  'model',
  'messages',
  'system',
  'tools',
  'tool_choice',
  'thinking',
  'output_config',
  'mcp_servers',
];

/**
 * CCR's api_base_url is the full endpoint (…/v1/messages). A bare origin, a `/v1` base or an SDK-style
 * base such as DeepSeek's `…/anthropic` gets the Messages path appended.
 */
export const anthropicMessagesUrl = memoByString((base: string): string => {
  const url = new URL(base);
  const path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/messages')) {
    url.pathname = path.endsWith('/v1') ? `${path}/messages` : `${path}/v1/messages`;
  }
  return url.toString();
});

export function anthropicCountTokensUrl(base: string): string {
  const url = new URL(anthropicMessagesUrl(base));
  url.pathname += '/count_tokens';
  return url.toString();
}

function isFirstParty(target: Target): boolean {
  return providerHost(target.provider) === 'api.anthropic.com';
}

/** Anthropic Messages → Anthropic-compatible upstream (api.anthropic.com, DeepSeek/Kimi/Ollama/OpenRouter A-APIs). */
export class AnthropicAdapter implements ProviderAdapter {
  readonly kind = 'anthropic' as const;

  constructor(private readonly deps: AdapterDeps) {}

  async send(
    req: CanonicalRequest,
    target: Target,
    ctx: UpstreamCallContext,
  ): Promise<AsyncIterable<StreamEvent>> {
    const prepared = this.prepare(req, target, ctx);
    const tctx = transformContext(target, this.kind, req);
    const body = await applyRequestHooks(
      transformChain(this.deps, target),
      { ...prepared.body, stream: req.stream === true },
      tctx,
    );
    const headers = this.headers(target, ctx, prepared.betaHeader);
    headers.accept = req.stream ? 'text/event-stream' : 'application/json';
    const call = hookedCall(tctx, anthropicMessagesUrl(target.provider.api_base_url), headers);
    const res = await postJson(this.deps, target, call.url, call.headers, body, ctx);
    // Decided by what came back, not what we asked: some compatible servers ignore `stream`.
    if (isEventStream(res)) {
      return eventIterable(this.relay(res.body, ctx), res.body);
    }
    const json = await readJsonAnswer(res, target, ctx);
    if (json.type === 'error') {
      throw providerErrorFromResponse(502, res.headers, JSON.stringify(json), target.provider);
    }
    const msg = json as unknown as MessageResponse;
    if (!Array.isArray(msg.content)) {
      throw new ProviderError(`${target.provider.name}: upstream answer is not a Message`, {
        status: 502,
        kind: 'protocol',
      });
    }
    const usage = withAllCounters(msg.usage, emptyUsage(ctx.inputTokensEstimate));
    return fromArray(messageToEvents({ ...msg, model: ctx.clientModel, usage }));
  }

  async countTokens(req: CanonicalRequest, target: Target, ctx: UpstreamCallContext): Promise<number | null> {
    if (target.provider.countTokens === false) {
      return null;
    }
    try {
      const prepared = this.prepare(req, target, ctx);
      const body: Record<string, unknown> = {};
      for (const field of COUNT_FIELDS) {
        if (prepared.body[field] !== undefined) {
          body[field] = prepared.body[field];
        }
      }
      const res = await postJson(
        this.deps,
        target,
        anthropicCountTokensUrl(target.provider.api_base_url),
        this.headers(target, ctx, prepared.betaHeader),
        body,
        ctx,
      );
      const json = await readJsonAnswer(res, target, ctx);
      return typeof json.input_tokens === 'number' ? json.input_tokens : null;
    } catch (err) {
      // The caller falls back to the local count: an upstream without count_tokens must not fail the request.
      ctx.logger?.debug({ err, provider: target.provider.name }, 'upstream count_tokens failed');
      return null;
    }
  }

  private prepare(
    req: CanonicalRequest,
    target: Target,
    ctx: UpstreamCallContext,
  ): { body: Record<string, unknown>; betaHeader?: string } {
    return asProviderError(
      () =>
        prepareAnthropicUpstream(req, {
          firstParty: isFirstParty(target),
          allowFields: target.provider.allowFields,
          model: target.model,
          maxTokensCap: target.provider.maxTokens,
          betas: clientHeader(ctx, 'anthropic-beta'),
          allowBetas: target.provider.allowBetas,
        }),
      target.provider.name,
    );
  }

  private headers(
    target: Target,
    ctx: UpstreamCallContext,
    beta: string | undefined,
  ): Record<string, string> {
    const headers: Record<string, string> = {
      'anthropic-version': clientHeader(ctx, 'anthropic-version') ?? DEFAULT_VERSION,
    };
    const key = target.provider.api_key;
    if (key) {
      headers['x-api-key'] = key;
      if (target.provider.authHeader === 'bearer') {
        headers.authorization = `Bearer ${key}`;
      }
    }
    if (beta) {
      headers['anthropic-beta'] = beta;
    }
    return headers;
  }

  /** Parses the upstream SSE (usage, grammar end) and re-emits it as canonical events. */
  private async *relay(
    body: UpstreamBody,
    ctx: UpstreamCallContext,
  ): AsyncGenerator<StreamEvent, void, undefined> {
    let stopped = false;
    const usage = new UsageCounters(ctx.inputTokensEstimate);
    try {
      for await (const msg of readSse(body as AsyncIterable<Uint8Array>, () => body.destroy())) {
        const ev = usage.complete(parseEvent(msg, ctx.clientModel));
        if (ev) {
          yield ev;
          if (ev.type === 'message_stop' || ev.type === 'error') {
            return; // nothing may follow the terminal event
          }
          stopped ||= ev.type === 'message_delta' && typeof ev.delta?.stop_reason === 'string';
        }
      }
      if (stopped) {
        // The answer was complete (it has its stop reason and final usage); only the closing event is
        // missing. Finalised like an OpenAI stream with a finish_reason but no [DONE] (PROTOCOL §6.9 step 6).
        yield { type: 'message_stop' };
        return;
      }
      yield {
        type: 'error',
        error: { type: 'api_error', message: 'upstream stream ended before message_stop' },
      };
    } catch (err) {
      const error = midStreamErrorPayload(err, ctx.signal);
      // A dropped connection is the same failure as an early EOF; say so in the same words.
      if (error.type === 'api_error' && !ctx.signal.aborted) {
        error.message = `upstream stream ended before message_stop (${error.message})`;
      }
      yield { type: 'error', error };
    }
  }
}

/**
 * Third-party Anthropic-compatible upstreams leave usage counters out (no cache fields, say): every
 * message_start and message_delta gets all four (PROTOCOL §6.6). A counter message_start lacks is 0 (input:
 * the local estimate, never 0 — Claude Code's context meter); one message_delta lacks keeps the last known
 * value, so the client's accumulated usage is not reset by the repeat.
 */
class UsageCounters {
  private known: Usage;

  constructor(inputTokensEstimate: number) {
    this.known = emptyUsage(inputTokensEstimate);
  }

  complete(ev: StreamEvent | undefined): StreamEvent | undefined {
    if (ev?.type === 'message_start') {
      ev.message.usage = this.known = withAllCounters(ev.message.usage, this.known);
    } else if (ev?.type === 'message_delta') {
      const usage = withAllCounters(ev.usage, this.known);
      ev.usage = usage;
      this.known = usage;
    }
    return ev;
  }
}

/** One upstream SSE message → a canonical event (lenient JSON; the `event:` line is the fallback type). */
function parseEvent(msg: SseMessage, clientModel: string): StreamEvent | undefined {
  let data: Record<string, any>;
  try {
    data = JSON.parse(msg.data) as Record<string, any>;
  } catch {
    return undefined; // keep-alive noise
  }
  if (!data || typeof data !== 'object') {
    return undefined;
  }
  const type = typeof data.type === 'string' ? data.type : msg.event;
  if (type === 'error') {
    const e = (data.error ?? {}) as { type?: unknown; message?: unknown };
    const error: ErrorPayload = {
      // Third-party upstreams invent types; only the documented ones map to a client status.
      type: (typeof e.type === 'string' && ERROR_TYPES.has(e.type)
        ? e.type
        : 'api_error') as ErrorPayload['type'],
      message: typeof e.message === 'string' ? e.message : 'upstream error',
    };
    return { type: 'error', error };
  }
  if (!type || !STREAM_TYPES.has(type)) {
    return undefined;
  }
  if (type === 'message_start' && data.message && typeof data.message === 'object') {
    data.message.model = clientModel;
    data.message.content ??= [];
  }
  return { ...data, type } as StreamEvent;
}
