import { emptyNotes, messageToEvents, type AnswerNotes } from '../../protocol/accumulate';
import { memoByString } from '../../common/memo-by-string';
import { providerHost } from '../provider-host';
import { anthropicToOpenAIRequest } from '../../protocol/anthropic-to-openai';
import type { OpenAIChatCompletion } from '../../protocol/openai-types';
import { OpenAIStreamToAnthropic } from '../../protocol/openai-stream-to-anthropic';
import { openAICompletionToAnthropicMessage } from '../../protocol/openai-to-anthropic';
import { ToolNameMap } from '../../protocol/tool-ids';
import type { CanonicalRequest, MessageResponse, StreamEvent } from '../../protocol/types';
import {
  applyRequestHooks,
  asProviderError,
  runHook,
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
import type { ProviderAdapter, Target, UpstreamCallContext } from '../provider.types';
import type { JsonObject, OpenAIRequestOptions, ResponseTransform } from '../transformers/transformer.types';
import type { UpstreamBody } from '../upstream.client';
import { midStreamErrorPayload, providerErrorFromResponse } from '../upstream-errors';

/**
 * The chat completions URL of an `api_base_url`, memoised (it is asked on every request): CCR style full
 * endpoint; a `/v1` (or `/v4`, z.ai) base or a bare origin gets `/chat/completions`.
 */
export const openAIChatUrl = memoByString(chatUrlOf);

function chatUrlOf(base: string): string {
  const url = new URL(base);
  const path = url.pathname.replace(/\/+$/, '');
  if (path === '') {
    url.pathname = '/v1/chat/completions';
  } else if (/\/v\d+(beta)?$/.test(path)) {
    url.pathname = `${path}/chat/completions`;
  }
  return url.toString();
}

/** OpenAI models that take `reasoning_effort`; others (gpt-4o…) answer 400 to it. */
const OPENAI_REASONING_MODELS = /^(o\d|gpt-5)/i;

/**
 * Conversion options before transformers run. Thinking is forwarded only where the dialect is known
 * (non-reasoning models 400 on reasoning fields); well-known hosts get their dialect without any
 * transformer configured, and a CCR config that lists the transformer anyway gets the same result.
 */
export function defaultOpenAIOptions(target: Target, req: CanonicalRequest): OpenAIRequestOptions {
  const host = providerHost(target.provider);
  const opts: OpenAIRequestOptions = {
    model: target.model,
    maxTokensField: 'max_tokens',
    maxTokensCap: target.provider.maxTokens,
    reasoning: 'none',
    // Usage matters (Claude Code's context meter); providers that reject stream_options opt out in config.
    includeUsage: target.provider.includeUsage !== false,
    keepCacheControl: false,
    supportsTopK: false,
    toolNames: ToolNameMap.fromNames((req.tools ?? []).map((t) => t.name)),
  };
  if (host === 'api.openai.com') {
    opts.maxTokensField = 'max_completion_tokens';
    opts.reasoning = OPENAI_REASONING_MODELS.test(target.model) ? 'openai' : 'none';
  } else if (host.endsWith('openrouter.ai')) {
    opts.reasoning = 'openrouter';
    opts.supportsTopK = true;
    opts.keepCacheControl = /^anthropic\/|claude/i.test(target.model);
  } else if (host.endsWith('deepseek.com')) {
    opts.reasoning = 'deepseek';
  }
  return opts;
}

/** Anthropic Messages → OpenAI-compatible Chat Completions (OpenAI, OpenRouter, DeepSeek, Groq, Ollama, vLLM…). */
export class OpenAIAdapter implements ProviderAdapter {
  readonly kind = 'openai' as const;

  constructor(private readonly deps: AdapterDeps) {}

  async send(
    req: CanonicalRequest,
    target: Target,
    ctx: UpstreamCallContext,
  ): Promise<AsyncIterable<StreamEvent>> {
    const stream = req.stream === true;
    const chain = transformChain(this.deps, target);
    const tctx = transformContext(target, this.kind, req);
    let opts = defaultOpenAIOptions(target, req);
    for (const t of chain) {
      if (t.requestOptions) {
        const hook = t.requestOptions.bind(t);
        const input = opts;
        opts = await runHook(t.name, () => hook(input, tctx));
      }
    }
    // The converter sets `stream` and `stream_options` from req.stream / opts.includeUsage.
    const converted = asProviderError(
      () => anthropicToOpenAIRequest(req, opts),
      target.provider.name,
    ) as unknown as JsonObject;
    const body = await applyRequestHooks(chain, { ...converted }, tctx);
    const headers: Record<string, string> = { accept: stream ? 'text/event-stream' : 'application/json' };
    if (target.provider.api_key) {
      headers.authorization = `Bearer ${target.provider.api_key}`;
    }
    const call = hookedCall(tctx, openAIChatUrl(target.provider.api_base_url), headers);
    const res = await postJson(this.deps, target, call.url, call.headers, body, ctx);
    const hooks: ResponseTransform[] = [];
    for (const t of chain) {
      const hook = t.response ? await runHook(t.name, () => t.response!(tctx)) : undefined;
      if (hook) {
        hooks.push(hook);
      }
    }

    if (isEventStream(res)) {
      const conv = new OpenAIStreamToAnthropic({
        model: ctx.clientModel,
        inputTokensEstimate: ctx.inputTokensEstimate,
        toolNames: opts.toolNames,
      });
      return eventIterable(relay(res.body, conv, hooks, ctx), res.body);
    }
    let json = await readJsonAnswer(res, target, ctx);
    if (json.error) {
      // OpenRouter & co. report some failures as 200 + {error}; before the commit point that is an HTTP error.
      const code = (json.error as { code?: unknown }).code;
      const status = typeof code === 'number' && code >= 400 && code < 600 ? code : 502;
      throw providerErrorFromResponse(status, res.headers, JSON.stringify(json), target.provider);
    }
    for (const h of hooks) {
      const input = json;
      json = h.body ? await runHook('response', () => h.body!(input)) : json;
    }
    const answer = json as unknown as OpenAIChatCompletion;
    const msg = asProviderError(
      () =>
        openAICompletionToAnthropicMessage(answer, {
          model: ctx.clientModel,
          toolNames: opts.toolNames,
          inputTokensEstimate: ctx.inputTokensEstimate,
        }),
      target.provider.name,
      'answer',
    );
    return fromArray(messageToEvents(msg, answerNotes(answer, msg)));
  }
}

/**
 * What the Message made of a JSON answer leaves out, as a streamed answer would carry it: tool arguments
 * that are not a JSON object (a call cut off by `length`; the Message says `{}`, the events the text as
 * received — the k-th tool call is the k-th tool_use block) and the model's `refusal`, as a marked text
 * block of its own.
 */
function answerNotes(answer: OpenAIChatCompletion, msg: MessageResponse): AnswerNotes {
  const notes = emptyNotes();
  const refusal = (answer.choices?.[0]?.message as { refusal?: unknown } | undefined)?.refusal;
  if (typeof refusal === 'string' && refusal !== '') {
    markRefusal(msg, refusal, notes);
  }
  const calls = answer.choices?.[0]?.message?.tool_calls ?? [];
  const blocks = msg.content.flatMap((b, index) => (b.type === 'tool_use' ? [index] : []));
  calls.forEach((call, k) => {
    const args = (call as { function?: { arguments?: unknown } }).function?.arguments;
    if (blocks[k] !== undefined && typeof args === 'string' && args.trim() !== '' && !isJsonObject(args)) {
      notes.rawToolInputs.set(blocks[k], args);
    }
  });
  return notes;
}

/** The converter put the refusal in the text block when there was no content; else it is added after it. */
function markRefusal(msg: MessageResponse, refusal: string, notes: AnswerNotes): void {
  const at = msg.content.findIndex((b) => b.type === 'text');
  if (at >= 0 && (msg.content[at] as { text?: unknown }).text === refusal) {
    notes.refusalBlocks.add(at);
    return;
  }
  const after = at >= 0 ? at + 1 : msg.content.findIndex((b) => b.type === 'tool_use');
  const index = after >= 0 ? after : msg.content.length;
  msg.content.splice(index, 0, { type: 'text', text: refusal });
  notes.refusalBlocks.add(index);
}

function isJsonObject(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/** Runs parsed chunks through every hook's `chunk`, in chain order. */
function throughHooks(chunks: JsonObject[], hooks: ResponseTransform[]): JsonObject[] {
  let out = chunks;
  for (const h of hooks) {
    out = h.chunk ? out.flatMap((c) => h.chunk!(c)) : out;
  }
  return out;
}

/** End of stream: each hook flushes, and what it releases still passes through the hooks after it. */
function flushHooks(hooks: ResponseTransform[]): JsonObject[] {
  let pending: JsonObject[] = [];
  for (const h of hooks) {
    pending = h.chunk ? pending.flatMap((c) => h.chunk!(c)) : pending;
    pending.push(...(h.flush?.() ?? []));
  }
  return pending;
}

async function* relay(
  body: UpstreamBody,
  conv: OpenAIStreamToAnthropic,
  hooks: ResponseTransform[],
  ctx: UpstreamCallContext,
): AsyncGenerator<StreamEvent, void, undefined> {
  const chunkHooks = hooks.some((h) => h.chunk || h.flush);
  let source: AsyncIterable<Uint8Array> = body as AsyncIterable<Uint8Array>;
  for (const h of hooks) {
    source = h.bytes ? h.bytes(source) : source;
  }
  const pushAll = (chunks: JsonObject[]): StreamEvent[] => chunks.flatMap((c) => conv.pushChunk(c));
  const handle = (data: string): StreamEvent[] => {
    if (!chunkHooks) {
      return conv.pushData(data);
    }
    const payload = data.trim();
    if (payload === '[DONE]') {
      return [...pushAll(flushHooks(hooks)), ...conv.pushData(payload)];
    }
    let json: unknown;
    try {
      json = JSON.parse(payload);
    } catch {
      return [];
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) {
      return [];
    }
    const chunk = json as JsonObject;
    return chunk.error ? conv.pushChunk(chunk) : pushAll(throughHooks([chunk], hooks));
  };

  // No message_start yet: the first content event brings it (OpenAIStreamToAnthropic.start). The upstream's
  // first SSE message (a role-only chunk, say) still answers the first-byte deadline, as the 200 used to:
  // a slow prefill before the first token is not a hang.
  let heard = false;
  try {
    for await (const msg of readSse(source, () => body.destroy())) {
      if (!heard) {
        heard = true;
        ctx.onUpstreamData?.();
      }
      yield* handle(msg.data);
      if (conv.finished) {
        return; // [DONE] or an error chunk: nothing may follow the terminal event
      }
    }
    if (chunkHooks) {
      yield* pushAll(flushHooks(hooks));
    }
    yield* conv.end();
  } catch (err) {
    yield* conv.fail(midStreamErrorPayload(err, ctx.signal));
  }
}
