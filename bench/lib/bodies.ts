/**
 * Request bodies of the overhead benchmark (Anthropic Messages, sent unchanged to the fake's /v1/messages
 * for "direct" and to the gateway's /v1/messages):
 * - small: a ~1 KB request (system prompt + one user turn);
 * - cc:    the real ~75 KB Claude Code request (test/fixtures/claude-code/say-hi.json, 24 tools);
 * - big:   the same Claude Code request with ~400 KB of conversation history in front of its messages:
 *          assistant text + Read tool calls answered by tool_result file contents (filler prose and code).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type BodyName = 'small' | 'cc' | 'big';
export const BODY_NAMES: BodyName[] = ['small', 'cc', 'big'];

export interface BenchBody {
  name: BodyName;
  label: string;
  /** Request path (query included), the same on the fake and on the gateway. */
  path: string;
  headers: Record<string, string>;
  nonstream: string;
  stream: string;
  bytes: number;
}

interface Fixture {
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown> & { messages: unknown[] };
}

const BASE_HEADERS = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };

/** Claude Code's own headers minus the per-connection ones (and accept-encoding: the fixture's responses are tiny). */
function claudeCodeHeaders(fixture: Fixture): Record<string, string> {
  const drop = new Set(['host', 'content-length', 'connection', 'accept-encoding']);
  return Object.fromEntries(Object.entries(fixture.headers).filter(([k]) => !drop.has(k.toLowerCase())));
}

function serialise(body: Record<string, unknown>, model: string): { nonstream: string; stream: string } {
  return {
    nonstream: JSON.stringify({ ...body, model, stream: false }),
    stream: JSON.stringify({ ...body, model, stream: true }),
  };
}

const WORDS = (
  'the gateway routes each request to a provider and converts the stream back while the client waits for ' +
  'tokens cache replay session buffer signal model usage prompt answer block delta tool yard switch route ' +
  'function returns value config handler error retry timeout socket header chunk event parser writer ' +
  'async await const let interface type export import from string number boolean undefined null'
).split(' ');

/** Deterministic pseudo-random generator (mulberry32), so every run sends the same bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ~`bytes` of text that looks like a source file or prose: lines of 4-14 words, some code-ish. */
function filler(rand: () => number, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = 4 + Math.floor(rand() * 11);
    const words = Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]);
    const r = rand();
    const line =
      r < 0.3
        ? `  const ${words[0]}${Math.floor(rand() * 100)} = ${words[1]}(${words.slice(2).join(', ')});`
        : r < 0.4
          ? `// ${words.join(' ')}`
          : words.join(' ') + '.';
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n');
}

/** The Claude Code body with user/assistant history turns in front of its messages until it reaches `target` bytes. */
function padded(fixture: Fixture, target: number): Record<string, unknown> {
  const rand = prng(42);
  const history: unknown[] = [
    { role: 'user', content: [{ type: 'text', text: 'Read the files of this project and explain how a request flows.' }] },
  ];
  const base = JSON.stringify(fixture.body).length;
  let size = base + JSON.stringify(history).length;
  for (let i = 0; size < target; i++) {
    const id = `toolu_bench_${String(i).padStart(4, '0')}`;
    const turn = [
      {
        role: 'assistant',
        content: [
          { type: 'text', text: filler(rand, 200) },
          { type: 'tool_use', id, name: 'Read', input: { file_path: `/repo/src/module-${i}.ts` } },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: id, content: filler(rand, Math.min(6000, target - size)) }],
      },
    ];
    history.push(...turn);
    size += JSON.stringify(turn).length + 2;
  }
  history.push({ role: 'assistant', content: [{ type: 'text', text: 'I have read the files.' }] });
  return { ...fixture.body, messages: [...history, ...fixture.body.messages] };
}

export function loadBodies(repoRoot: string, model: string, bigBytes = 400 * 1024): Record<BodyName, BenchBody> {
  const fixture = JSON.parse(
    readFileSync(join(repoRoot, 'test/fixtures/claude-code/say-hi.json'), 'utf8'),
  ) as Fixture;
  const ccHeaders = claudeCodeHeaders(fixture);
  const ccPath = fixture.url.startsWith('/v1/messages') ? fixture.url : '/v1/messages?beta=true';

  const small = serialise(
    {
      max_tokens: 1024,
      system: 'You are a concise assistant. Answer in plain text. ' + filler(prng(7), 300),
      messages: [{ role: 'user', content: filler(prng(8), 480) }],
    },
    model,
  );
  const cc = serialise(fixture.body, model);
  const big = serialise(padded(fixture, bigBytes), model);
  const make = (name: BodyName, label: string, path: string, headers: Record<string, string>, s: typeof small) => ({
    name,
    label,
    path,
    headers,
    ...s,
    bytes: Buffer.byteLength(s.nonstream),
  });
  return {
    small: make('small', '~1 KB', '/v1/messages', BASE_HEADERS, small),
    cc: make('cc', '~75 KB Claude Code', ccPath, ccHeaders, cc),
    big: make('big', '~400 KB Claude Code', ccPath, ccHeaders, big),
  };
}

/** The same request with one more user turn (the next turn of a conversation: the memo sees mostly known text). */
export function withExtraTurn(json: string): Record<string, unknown> {
  const body = JSON.parse(json) as { messages: unknown[] };
  return {
    ...body,
    messages: [
      ...body.messages,
      { role: 'assistant', content: [{ type: 'text', text: 'Hi! How can I help?' }] },
      { role: 'user', content: [{ type: 'text', text: 'Now list the files you read, with one line each.' }] },
    ],
  };
}
