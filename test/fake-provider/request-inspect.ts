/**
 * Reads what the fake needs out of a request body, for each wire shape: the text of the last user turn
 * (where directives live), whether that turn is a tool result, and the declared tools.
 */
import type { FakeBehaviour } from './types';

export type GenerationApi = 'openai' | 'anthropic' | 'gemini';

export interface ToolSpec {
  name: string;
  schema?: any;
}

export interface Inspection {
  /** Texts of the last user turn, joined with "\n". */
  lastUserText: string;
  /** Text of the first tool result when the last user turn carries one. */
  toolResult: string | null;
  tools: ToolSpec[];
}

export class DirectiveError extends Error {}

const asArray = (v: unknown): any[] => (Array.isArray(v) ? v : []);

function textOf(content: unknown): string {
  if (typeof content === 'string') {
    return content;
  }
  return asArray(content)
    .filter((p) => p && typeof p.text === 'string' && (p.type === undefined || p.type === 'text'))
    .map((p) => p.text as string)
    .join('\n');
}

function inspectAnthropic(body: any): Inspection {
  const messages = asArray(body?.messages);
  let last = messages.at(-1);
  if (last?.role !== 'user') {
    last = messages.findLast((m) => m?.role === 'user');
  }
  let toolResult: string | null = null;
  const texts: string[] = [];
  if (typeof last?.content === 'string') {
    texts.push(last.content);
  }
  for (const block of asArray(last?.content)) {
    if (block?.type === 'tool_result' && toolResult === null) {
      toolResult = textOf(block.content);
    } else if (block?.type === 'text' && typeof block.text === 'string') {
      texts.push(block.text);
    }
  }
  const tools = asArray(body?.tools)
    .filter((t) => typeof t?.name === 'string')
    .map((t) => ({ name: t.name as string, schema: t.input_schema }));
  return { lastUserText: texts.join('\n'), toolResult, tools };
}

function inspectOpenAI(body: any): Inspection {
  const messages = asArray(body?.messages);
  // The last user turn is the trailing run of user/tool messages (a gateway turns one Anthropic
  // [tool_result, text] message into tool messages followed by a user message).
  let start = messages.length;
  while (start > 0 && (messages[start - 1]?.role === 'user' || messages[start - 1]?.role === 'tool')) {
    start--;
  }
  let turn = messages.slice(start);
  if (turn.length === 0) {
    const lastUser = messages.findLast((m) => m?.role === 'user');
    turn = lastUser ? [lastUser] : [];
  }
  const toolMsg = turn.find((m) => m.role === 'tool');
  const tools = [
    ...asArray(body?.tools)
      .filter((t) => typeof t?.function?.name === 'string')
      .map((t) => ({ name: t.function.name as string, schema: t.function.parameters })),
    ...asArray(body?.functions)
      .filter((f) => typeof f?.name === 'string')
      .map((f) => ({ name: f.name as string, schema: f.parameters })),
  ];
  return {
    lastUserText: turn
      .filter((m) => m.role === 'user')
      .map((m) => textOf(m.content))
      .join('\n'),
    toolResult: toolMsg ? textOf(toolMsg.content) : null,
    tools,
  };
}

function inspectGemini(body: any): Inspection {
  const contents = asArray(body?.contents);
  const last = contents.findLast((c) => c?.role !== 'model');
  const parts = asArray(last?.parts);
  const response = parts.find((p) => p?.functionResponse)?.functionResponse;
  let toolResult: string | null = null;
  if (response) {
    const r = response.response;
    const inner = r?.content ?? r?.output ?? r?.result;
    toolResult = typeof inner === 'string' ? inner : JSON.stringify(r ?? {});
  }
  const tools = asArray(body?.tools)
    .flatMap((t) => asArray(t?.functionDeclarations))
    .filter((f) => typeof f?.name === 'string')
    .map((f) => ({ name: f.name as string, schema: f.parameters ?? f.parametersJsonSchema }));
  return {
    lastUserText: parts
      .filter((p) => typeof p?.text === 'string')
      .map((p) => p.text as string)
      .join('\n'),
    toolResult,
    tools,
  };
}

export function inspectRequest(api: GenerationApi, body: unknown): Inspection {
  switch (api) {
    case 'anthropic':
      return inspectAnthropic(body);
    case 'openai':
      return inspectOpenAI(body);
    case 'gemini':
      return inspectGemini(body);
  }
}

const DIRECTIVE_OPEN = '[[fake:';

/** End index (exclusive) of the JSON object starting at `from`, respecting strings; -1 if unbalanced. */
function objectEnd(text: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') {
        i++;
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
    } else if (c === '{') {
      depth++;
    } else if (c === '}' && --depth === 0) {
      return i + 1;
    }
  }
  return -1;
}

/** All `[[fake:{…}]]` directives in the text, merged in order; null when there is none. */
export function parseDirectives(text: string): Partial<FakeBehaviour> | null {
  let merged: Partial<FakeBehaviour> | null = null;
  let at = text.indexOf(DIRECTIVE_OPEN);
  while (at >= 0) {
    const jsonStart = at + DIRECTIVE_OPEN.length;
    const end = text[jsonStart] === '{' ? objectEnd(text, jsonStart) : -1;
    if (end < 0 || !text.startsWith(']]', end)) {
      throw new DirectiveError(`unterminated [[fake:{…}]] directive at offset ${at}`);
    }
    try {
      const parsed: unknown = JSON.parse(text.slice(jsonStart, end));
      merged = { ...(merged ?? {}), ...(parsed as Partial<FakeBehaviour>) };
    } catch (e) {
      throw new DirectiveError(`invalid JSON in [[fake:…]] directive: ${(e as Error).message}`);
    }
    at = text.indexOf(DIRECTIVE_OPEN, end);
  }
  return merged;
}

const MOCK_TOOL_RE = /MOCK_TOOL_USE(?::([A-Za-z0-9_.-]+))?/;

/** Undefined when the marker is absent; otherwise the tool name requested with `MOCK_TOOL_USE:<name>` (or null). */
export function mockToolMarker(text: string): string | null | undefined {
  const m = MOCK_TOOL_RE.exec(text);
  return m ? (m[1] ?? null) : undefined;
}

const WELL_KNOWN_ARGS: Record<string, unknown> = {
  command: 'echo hi',
  file_path: '/tmp/fake-provider.txt',
  path: '/tmp',
  pattern: '*',
  url: 'https://example.com',
  query: 'fake query',
  city: 'Paris',
  location: 'Paris',
  description: 'fake tool call',
  prompt: 'fake prompt',
  content: 'hello',
};

function valueFor(name: string, prop: any): unknown {
  if (name in WELL_KNOWN_ARGS) {
    return WELL_KNOWN_ARGS[name];
  }
  if (Array.isArray(prop?.enum) && prop.enum.length > 0) {
    return prop.enum[0];
  }
  switch (prop?.type) {
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return `fake-${name}`;
  }
}

/** Arguments from the schema's required properties (plus `command` when the tool has one). */
export function argsFromSchema(schema: any): Record<string, unknown> {
  const props: Record<string, unknown> = schema?.properties ?? {};
  const names: string[] = asArray(schema?.required).filter((n) => typeof n === 'string');
  if ('command' in props && !names.includes('command')) {
    names.push('command');
  }
  return Object.fromEntries(names.map((n) => [n, valueFor(n, props[n])]));
}

/** The tool call answered for MOCK_TOOL_USE: the named or first declared tool, else get_weather(Paris). */
export function mockToolCall(
  tools: ToolSpec[],
  wanted: string | null,
): NonNullable<FakeBehaviour['toolCall']> {
  const tool = (wanted ? tools.find((t) => t.name === wanted) : undefined) ?? tools[0];
  if (!tool) {
    return { name: wanted ?? 'get_weather', arguments: { city: 'Paris' } };
  }
  return { name: tool.name, arguments: argsFromSchema(tool.schema) };
}

/** count_tokens: a chars/4 estimate over what the model would read. */
export function estimateInputTokens(body: any): number {
  const chars = JSON.stringify([body?.system ?? '', body?.messages ?? [], body?.tools ?? []]).length;
  return Math.max(1, Math.ceil(chars / 4));
}
