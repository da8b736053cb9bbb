/** OpenAI Chat Completions wire format (PROTOCOL §5.3/§5.4), with the provider quirks of the §5.4 table. */
import { fakeId, reasoningTokens, type AnswerPlan } from './behaviour';
import type { Frame } from './playback';

export const OPENAI_MALFORMED_FRAME =
  'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"bro\n\n';

const OPENROUTER_COMMENT = ': OPENROUTER PROCESSING\n\n';

const FINISH: Record<AnswerPlan['finish'], string> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content_filter',
  tool_calls: 'tool_calls',
};

/** Usage object; `fraction` < 1 gives the running totals of usage-every-chunk. */
export function openaiUsage(plan: AnswerPlan, fraction = 1): Record<string, unknown> {
  const { input, output, cacheRead } = plan.usage;
  const completion = Math.round(output * fraction);
  const prompt = input + cacheRead;
  const usage: Record<string, unknown> = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
  if (plan.quirk === 'deepseek') {
    usage.prompt_cache_hit_tokens = cacheRead;
    usage.prompt_cache_miss_tokens = input;
    usage.completion_tokens_details = { reasoning_tokens: reasoningTokens(plan) };
    return usage;
  }
  usage.prompt_tokens_details = { cached_tokens: cacheRead, audio_tokens: 0 };
  usage.completion_tokens_details = { reasoning_tokens: reasoningTokens(plan), audio_tokens: 0 };
  if (plan.quirk === 'openrouter') {
    usage.cost = 0;
  }
  return usage;
}

function toolId(plan: AnswerPlan, name: string): string {
  return plan.quirk === 'groq' ? `functions.${name}:0` : fakeId('call_');
}

function reasoningDelta(plan: AnswerPlan, piece: string): Record<string, unknown> {
  if (plan.quirk === 'openrouter') {
    return {
      reasoning: piece,
      reasoning_details: [{ type: 'reasoning.text', text: piece, format: 'unknown', index: 0 }],
    };
  }
  return { reasoning_content: piece };
}

export function openaiStreamFrames(plan: AnswerPlan, includeUsage: boolean): Frame[] {
  const { quirk } = plan;
  const id = quirk === 'openrouter' ? fakeId('gen-') : fakeId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const frames: Frame[] = [];
  const contentChunks =
    plan.reasoningChunks.length +
    plan.textChunks.length +
    plan.refusalChunks.length +
    (plan.toolCall ? 1 : 0);
  let emitted = 0;

  const chunk = (
    delta: Record<string, unknown>,
    finish: string | null,
    extra?: Record<string, unknown>,
  ): string => {
    const c: Record<string, unknown> =
      quirk === 'glm'
        ? { id, created, model: plan.model }
        : { id, object: 'chat.completion.chunk', created, model: plan.model };
    if (quirk === 'openrouter') {
      c.provider = 'FakeProvider';
    }
    c.choices = [
      {
        index: 0,
        delta: quirk === 'glm' ? { role: 'assistant', ...delta } : delta,
        logprobs: null,
        finish_reason: finish,
      },
    ];
    if (quirk === 'usage-every-chunk') {
      c.usage = openaiUsage(plan, contentChunks ? Math.min(1, emitted / contentChunks) : 1);
    } else if (includeUsage && quirk !== 'glm') {
      c.usage = null;
    }
    return `data: ${JSON.stringify(extra ? { ...c, ...extra } : c)}\n\n`;
  };
  const push = (data: string, phase: Frame['phase'], delta = false) => {
    const prefix = quirk === 'openrouter' && (delta || phase === 'head') ? OPENROUTER_COMMENT : '';
    frames.push({ data: prefix + data, phase, delta });
  };
  const body = (delta: Record<string, unknown>) => {
    emitted++;
    push(chunk(delta, null), 'body', true);
  };

  const textFirst = plan.text !== null || !plan.toolCall;
  push(chunk({ role: 'assistant', content: textFirst ? '' : null }, null), 'head');
  if (quirk === 'glm' && plan.reasoning) {
    push(chunk({ content: '\n' }, null), 'body', true);
  }
  for (const piece of plan.reasoningChunks) {
    body(reasoningDelta(plan, piece));
  }
  for (const piece of plan.textChunks) {
    body({ content: piece });
  }
  for (const piece of plan.refusalChunks) {
    body({ refusal: piece });
  }
  const finish = FINISH[plan.finish];
  const tc = plan.toolCall;
  if (tc && quirk === 'groq') {
    body({
      tool_calls: [
        {
          index: 0,
          id: toolId(plan, tc.name),
          type: 'function',
          function: { name: tc.name, arguments: tc.argsJson },
        },
      ],
    });
  } else if (tc && quirk !== 'glm') {
    body({
      tool_calls: [
        { index: 0, id: toolId(plan, tc.name), type: 'function', function: { name: tc.name, arguments: '' } },
      ],
    });
    for (const fragment of tc.fragments) {
      push(chunk({ tool_calls: [{ index: 0, function: { arguments: fragment } }] }, null), 'body', true);
    }
  }

  if (quirk === 'glm') {
    const calls = tc
      ? {
          tool_calls: [
            {
              index: 0,
              id: toolId(plan, tc.name),
              type: 'function',
              function: { name: tc.name, arguments: tc.argsJson },
            },
          ],
        }
      : { content: '' };
    emitted = contentChunks;
    push(chunk(calls, finish), 'tail', Boolean(tc));
    push(chunk({ content: '' }, finish, { usage: openaiUsage(plan) }), 'tail');
  } else if (quirk === 'groq') {
    const usage = openaiUsage(plan);
    push(chunk({}, finish, { usage, x_groq: { id: fakeId('req_'), usage } }), 'tail');
  } else {
    emitted = contentChunks;
    push(chunk({}, finish), 'tail');
  }
  if (includeUsage && quirk !== 'glm') {
    push(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: plan.model, choices: [], usage: openaiUsage(plan) })}\n\n`,
      'tail',
    );
  }
  push('data: [DONE]\n\n', 'done');
  return frames;
}

export function openaiCompletion(plan: AnswerPlan): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: plan.text, refusal: plan.refusal };
  if (plan.reasoning) {
    Object.assign(message, reasoningDelta(plan, plan.reasoning));
  }
  if (plan.toolCall) {
    const { name, argsJson } = plan.toolCall;
    message.tool_calls = [
      { id: toolId(plan, name), type: 'function', function: { name, arguments: argsJson } },
    ];
  }
  const out: Record<string, unknown> = {
    id: fakeId('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: plan.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: FINISH[plan.finish] }],
    usage: openaiUsage(plan),
  };
  if (plan.quirk === 'glm') {
    delete out.object;
  }
  return out;
}
