/** Behaviour layering and the answer plan every wire format renders from. */
import { DEFAULT_TEXT, type FakeBehaviour, type FakeFinish, type FakeQuirk, type Fault } from './types';

export interface PlannedToolCall {
  name: string;
  arguments: Record<string, unknown>;
  argsJson: string;
  /** Argument fragments for streaming (concatenation = argsJson). */
  fragments: string[];
}

export interface AnswerPlan {
  model: string;
  /** Null → no text block / content null. */
  text: string | null;
  textChunks: string[];
  reasoning: string | null;
  reasoningChunks: string[];
  refusal: string | null;
  refusalChunks: string[];
  toolCall: PlannedToolCall | null;
  usage: { input: number; output: number; cacheRead: number; cacheCreation: number };
  finish: FakeFinish | 'tool_calls';
  quirk: FakeQuirk | null;
  fault: Fault | null;
  firstByteMs: number;
  gapMs: number;
  firstDeltaDelayMs: number;
  chunkCount: number;
}

/** Later layers win; undefined values do not override; `usage` merges field by field. */
export function mergeBehaviour(...layers: (Partial<FakeBehaviour> | null | undefined)[]): FakeBehaviour {
  const out: any = {};
  for (const layer of layers) {
    if (!layer) {
      continue;
    }
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) {
        continue;
      }
      out[k] = k === 'usage' && v && out.usage ? { ...out.usage, ...(v as object) } : v;
    }
  }
  return out as FakeBehaviour;
}

/** Splits text into at most n near-equal pieces without breaking surrogate pairs. */
export function splitText(text: string, n: number): string[] {
  if (text.length === 0) {
    return [];
  }
  const ascii = Buffer.byteLength(text) === text.length;
  const units: string | string[] = ascii ? text : Array.from(text);
  const count = Math.max(1, Math.min(Math.floor(n) || 1, units.length));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * units.length) / count);
    const to = Math.floor(((i + 1) * units.length) / count);
    out.push(ascii ? (units as string).slice(from, to) : (units as string[]).slice(from, to).join(''));
  }
  return out;
}

const FILLER_WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ';
const fillerCache = new Map<number, string>();

/** ASCII filler of exactly `bytes` bytes (memoised: benchmarks ask for the same size over and over). */
export function fillerText(bytes: number): string {
  const size = Math.max(0, Math.floor(bytes));
  let text = fillerCache.get(size);
  if (text === undefined) {
    text = FILLER_WORDS.repeat(Math.ceil(size / FILLER_WORDS.length)).slice(0, size);
    if (fillerCache.size >= 16) {
      fillerCache.clear();
    }
    fillerCache.set(size, text);
  }
  return text;
}

const Z95 = 1.6448536269514722;

/** Log-normal draw with the given median and 95th percentile. */
export function sampleLatency(profile: { medianMs: number; p95Ms: number }): number {
  const median = Math.max(profile.medianMs, 0.001);
  const sigma = profile.p95Ms > median ? Math.log(profile.p95Ms / median) / Z95 : 0;
  const u1 = 1 - Math.random();
  const u2 = Math.random();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.max(0, Math.exp(Math.log(median) + sigma * z));
}

export function buildPlan(b: FakeBehaviour, model: string): AnswerPlan {
  const toolCall = b.toolCall ?? null;
  let text: string | null = b.text;
  if (text === null || text === undefined) {
    text = b.textBytes ? fillerText(b.textBytes) : toolCall || b.refusal ? null : DEFAULT_TEXT;
  }
  const reasoning = b.reasoning ? b.reasoning : null;
  const chunkCount = Math.max(1, Math.floor(b.chunkCount) || 1);
  let planned: PlannedToolCall | null = null;
  if (toolCall) {
    const argsJson =
      typeof toolCall.argumentsText === 'string'
        ? toolCall.argumentsText
        : JSON.stringify(toolCall.arguments ?? {});
    planned = {
      name: toolCall.name,
      arguments: toolCall.arguments ?? {},
      argsJson,
      fragments: splitText(argsJson, 4),
    };
  }
  return {
    model,
    text,
    textChunks: text === null ? [] : splitText(text, chunkCount),
    reasoning,
    reasoningChunks: reasoning === null ? [] : splitText(reasoning, chunkCount),
    refusal: b.refusal ? b.refusal : null,
    refusalChunks: b.refusal ? splitText(b.refusal, chunkCount) : [],
    toolCall: planned,
    usage: {
      input: b.usage?.input ?? 0,
      output: b.usage?.output ?? 0,
      cacheRead: b.usage?.cacheRead ?? 0,
      cacheCreation: b.usage?.cacheCreation ?? 0,
    },
    // A tool call cut off by max_tokens keeps 'length'; any other finish becomes tool_calls.
    finish: planned ? (b.finish === 'length' ? 'length' : 'tool_calls') : (b.finish ?? 'stop'),
    quirk: b.quirk ?? null,
    fault: b.fault ?? null,
    firstByteMs: b.firstByteProfile
      ? sampleLatency(b.firstByteProfile)
      : Math.max(0, b.firstByteDelayMs || 0),
    gapMs: Math.max(0, b.chunkGapMs || 0),
    firstDeltaDelayMs: Math.max(0, b.firstDeltaDelayMs || 0),
    chunkCount,
  };
}

/** Reasoning tokens reported in usage details (a share of output, never more). */
export function reasoningTokens(plan: AnswerPlan): number {
  return plan.reasoning ? Math.min(plan.usage.output, Math.ceil(plan.reasoning.length / 4)) : 0;
}

let idCounter = 0;
const idBase = Math.random().toString(36).slice(2, 8);

/** Unique-enough ids: `prefix` + run tag + counter (only [A-Za-z0-9_] characters). */
export function fakeId(prefix: string): string {
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}fake${idBase}${idCounter.toString(36).padStart(6, '0')}`;
}
