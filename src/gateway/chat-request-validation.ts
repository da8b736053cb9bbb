import { z } from 'zod';
import type { OpenAIChatRequest } from '../protocol/openai-types';
import { fromLegacyFunctions } from './legacy-functions';
import { fail, invalid, requireObject } from './validation-errors';

type Rec = Record<string, unknown>;

const range = (min: number, max: number) =>
  z
    .number()
    .min(min, { error: `must be a number between ${min} and ${max}` })
    .max(max, { error: `must be a number between ${min} and ${max}` });

/** OpenAI's values (PROTOCOL.md §5.1); `none` turns reasoning off. */
const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;

const tool = z.looseObject({
  type: z.string(),
  function: z
    .looseObject({
      name: z.string().min(1),
      description: z.string().nullish(),
      parameters: z.looseObject({}).nullish(),
    })
    .optional(),
});

/**
 * The Chat Completions fields OpenAI itself would answer 400 for (types and ranges), so a client gets the
 * same 400 here, naming the field in `param`, instead of a silently clamped or dropped value. model,
 * messages and max_tokens are checked by the conversion itself; null is accepted where OpenAI accepts it.
 */
const chatCompletionsSchema = z.looseObject({
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  tools: z.array(tool).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  temperature: range(0, 2).nullish(),
  top_p: range(0, 1).nullish(),
  presence_penalty: range(-2, 2).nullish(),
  frequency_penalty: range(-2, 2).nullish(),
  n: z.number().int().min(1).nullish(),
  seed: z.number().int().nullish(),
  stop: z
    .union([z.string(), z.array(z.string())], { error: 'must be a string or an array of strings' })
    .refine((s) => typeof s === 'string' || s.length <= 4, { error: 'at most 4 stop sequences are allowed' })
    .nullish(),
  reasoning_effort: z
    .enum(REASONING_EFFORTS, { error: `must be one of ${REASONING_EFFORTS.join(', ')}` })
    .nullish(),
  response_format: z
    .looseObject({
      type: z.enum(['text', 'json_object', 'json_schema'], {
        error: 'must be "text", "json_object" or "json_schema"',
      }),
    })
    .nullish(),
});
const chatMessageSchema = z.looseObject({ tool_calls: z.array(z.unknown()).nullish() });

const TOOL_CHOICE_SHAPES =
  'must be "none", "auto", "required", {"type":"function","function":{"name":…}} or {"type":"allowed_tools",…}';

function checkTools(tools: Rec[]): string[] {
  return tools.map((t, i) => {
    if (t.type !== 'function') {
      throw invalid(`tools[${i}].type`, `only "function" tools are supported, not "${String(t.type)}"`);
    }
    const fn = t.function as Rec | undefined;
    if (!fn) {
      throw invalid(`tools[${i}].function`, 'Field required');
    }
    return fn.name as string;
  });
}

function checkToolChoice(choice: unknown, toolNames: string[]): void {
  if (
    choice === undefined ||
    choice === null ||
    choice === 'none' ||
    choice === 'auto' ||
    choice === 'required'
  ) {
    return;
  }
  if (typeof choice !== 'object' || Array.isArray(choice)) {
    throw invalid('tool_choice', TOOL_CHOICE_SHAPES);
  }
  const c = choice as Rec;
  if (c.type === 'allowed_tools') {
    return;
  }
  if (c.type !== 'function') {
    throw invalid('tool_choice.type', TOOL_CHOICE_SHAPES);
  }
  const name = (c.function as Rec | undefined)?.name;
  if (typeof name !== 'string' || name === '') {
    throw invalid('tool_choice.function.name', 'must be a non-empty string');
  }
  if (!toolNames.includes(name)) {
    throw invalid('tool_choice.function.name', `"${name}" is not one of the tools of this request`);
  }
}

/**
 * A Chat Completions body checked as OpenAI checks it, with legacy `functions` / `function_call` turned
 * into `tools` / `tool_choice` first.
 */
export function parseChatCompletionsRequest(body: unknown): OpenAIChatRequest {
  const input = fromLegacyFunctions(requireObject(body));
  const parsed = chatCompletionsSchema.safeParse(input);
  if (!parsed.success) {
    fail(parsed.error);
  }
  const req = parsed.data as Rec;
  if (typeof req.n === 'number' && req.n > 1) {
    throw invalid('n', 'only n=1 is supported');
  }
  const toolNames = checkTools((req.tools ?? []) as Rec[]);
  checkToolChoice(req.tool_choice, toolNames);
  const messages: unknown = req.messages;
  if (Array.isArray(messages)) {
    messages.forEach((m, i) => {
      // Anything but an object is left to the conversion, which names it.
      const checked = typeof m === 'object' && m !== null ? chatMessageSchema.safeParse(m) : undefined;
      if (checked && !checked.success) {
        fail(checked.error, `messages[${i}]`);
      }
    });
  }
  return req as unknown as OpenAIChatRequest;
}
