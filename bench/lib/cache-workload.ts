/**
 * The replay workload of the cache benchmark: Claude Code-shaped sessions at a fixed arrival rate.
 *
 * Every slot of the schedule (one every 1000/rate ms) sends either a repeat that is due, or the next
 * original request of one of the active sessions. A session is: a startup quota check (a 1-token haiku
 * request, byte-identical in every session), then 3–7 turns; each turn is a main request (the real
 * ~75 KB Claude Code request, test/fixtures/claude-code/say-hi.json `.body`, with this session's
 * conversation so far and a new user prompt; streamed) and a background haiku task (topic / title
 * detection of that prompt; non-stream). Originals schedule their own repeats:
 *
 * - main turn: a concurrent duplicate with p = 0.2, 0.15–0.6 s later (Claude Code's retry of a request it
 *   gave up on, a parallel sub-agent) — still in flight upstream, so coalescing serves it; and 0–3
 *   (mean 1.8) sequential repeats 3–30 s later (the prompt re-run: Esc + retry, a resumed session, a
 *   re-run command);
 * - background task: a concurrent duplicate with p = 0.15, and 2–4 sequential repeats 2–30 s later
 *   (Claude Code re-runs the same title / topic task on resume, compact and new windows);
 * - turn 1 prompts come from a pool of 8 common first prompts half the time, so identical first turns
 *   happen across sessions too.
 *
 * The realised shares (repeats, concurrent, sequential) are computed from the schedule and reported.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScheduledRequest } from './open-loop';

interface Fixture {
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown> & { messages: { role: string; content: unknown }[] };
}

export interface WorkloadOptions {
  rate: number;
  durationS: number;
  activeSessions: number;
  seed: number;
}

export interface WorkloadSummary {
  requests: number;
  unique: number;
  /** Requests whose cache key (same `id`: equal bodies apart from `metadata`) was sent earlier in the schedule. */
  repeats: number;
  repeatShare: number;
  /** Repeats sent < 2 s after the first request with that key (its upstream call is likely in flight: coalescing). */
  concurrentRepeats: number;
  sequentialRepeats: number;
  sessions: number;
  byKind: Record<string, { requests: number; repeats: number; avgBytes: number }>;
  stream: number;
  nonStream: number;
}

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

const COMMON_PROMPTS = [
  'Run the test suite and fix whatever fails.',
  'Explain the architecture of this repository in a few paragraphs.',
  'Review the changes on this branch and list anything risky.',
  'Find where the request timeout is configured and raise it to 60 seconds.',
  'Write a commit message for the staged changes.',
  'Add a unit test for the cache key function.',
  'Why does the build fail on CI? Check the last log.',
  'Summarise the open TODO comments in src/.',
];
const WORDS = (
  'gateway cache route provider stream token request answer session replay model tool config retry ' +
  'timeout socket header chunk parser writer buffer error handler queue worker schema migration test'
).split(' ');
const HAIKU = 'claude-3-5-haiku-20241022';

export class CacheWorkload {
  private readonly fixture: Fixture;
  private readonly path: string;
  private readonly headers: Record<string, string>;

  constructor(root: string) {
    this.fixture = JSON.parse(readFileSync(join(root, 'test/fixtures/claude-code/say-hi.json'), 'utf8')) as Fixture;
    this.path = this.fixture.url.startsWith('/v1/messages') ? this.fixture.url : '/v1/messages?beta=true';
    const drop = new Set(['host', 'content-length', 'connection', 'accept-encoding']);
    this.headers = Object.fromEntries(Object.entries(this.fixture.headers).filter(([k]) => !drop.has(k.toLowerCase())));
  }

  /** The Claude Code request of turn `prompts.length` of a session: history of earlier prompts + answers. */
  mainBody(session: number, prompts: string[]): string {
    const [first, ...rest] = this.fixture.body.messages;
    const firstContent = structuredClone(first.content) as { type: string; text?: string }[];
    firstContent[0] = { type: 'text', text: prompts[0] };
    const messages: unknown[] = [{ role: 'user', content: firstContent }];
    for (let i = 1; i < prompts.length; i++) {
      messages.push({ role: 'assistant', content: [{ type: 'text', text: `Done: ${prompts[i - 1].slice(0, 60)}` }] });
      messages.push({ role: 'user', content: [{ type: 'text', text: prompts[i] }] });
    }
    messages.push(...rest.filter((m) => m.role === 'system'));
    const userId = JSON.stringify({ device_id: 'bench', account_uuid: '', session_id: `session-${session}` });
    return JSON.stringify({ ...this.fixture.body, messages, metadata: { user_id: userId }, stream: true });
  }

  backgroundBody(prompt: string): string {
    return JSON.stringify({
      model: HAIKU,
      max_tokens: 512,
      system: [{ type: 'text', text: 'Analyze if this message indicates a new conversation topic. If it does, extract a 2-3 word title. Answer as JSON {"isNewTopic": boolean, "title": string}.' }],
      messages: [{ role: 'user', content: prompt }],
      stream: false,
    });
  }

  quotaBody(): string {
    return JSON.stringify({ model: HAIKU, max_tokens: 1, messages: [{ role: 'user', content: 'quota' }], stream: false });
  }

  build(o: WorkloadOptions): { schedule: ScheduledRequest[]; summary: WorkloadSummary } {
    const rand = prng(o.seed);
    const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)];
    const between = (lo: number, hi: number) => lo + rand() * (hi - lo);
    const slotMs = 1000 / o.rate;
    const n = Math.round(o.rate * o.durationS);
    type Item = Omit<ScheduledRequest, 'atMs'>;
    const due: { at: number; item: Item }[] = [];
    const later = (at: number, item: Item) => {
      due.push({ at, item });
      due.sort((a, b) => a.at - b.at);
    };
    let nextSession = 0;
    const newSession = () => ({ id: nextSession++, turns: 3 + Math.floor(rand() * 5), prompts: [] as string[], step: 0 });
    const sessions = Array.from({ length: o.activeSessions }, newSession);
    const headersFor = (session: number) => ({ ...this.headers, 'x-claude-code-session-id': `session-${session}` });

    /** The next original of a session: quota check, then per turn: main request, background task. */
    const original = (now: number): Item => {
      const i = Math.floor(rand() * sessions.length);
      const s = sessions[i];
      const step = s.step++;
      if (step === 0) {
        return { path: '/v1/messages', body: this.quotaBody(), headers: headersFor(s.id), stream: false, tag: 'quota', id: 'quota' };
      }
      const turn = Math.floor((step - 1) / 2);
      if ((step - 1) % 2 === 0) {
        const prompt =
          turn === 0 && rand() < 0.5
            ? pick(COMMON_PROMPTS)
            : `Session ${s.id}, turn ${turn + 1}: ${Array.from({ length: 12 }, () => pick(WORDS)).join(' ')}.`;
        s.prompts.push(prompt);
        const item: Item = { path: this.path, body: this.mainBody(s.id, s.prompts), headers: headersFor(s.id), stream: true, tag: 'main', id: `main:${s.id}:${turn}` };
        if (turn === 0 && COMMON_PROMPTS.includes(prompt)) {
          item.id = `main:common:${COMMON_PROMPTS.indexOf(prompt)}`;
        }
        if (rand() < 0.2) {
          later(now + between(150, 600), { ...item, tag: 'main' });
        }
        const k = [0, 1, 2, 2, 3, 3][Math.floor(rand() * 6)];
        for (let j = 0; j < k; j++) {
          later(now + between(3000, 30_000), item);
        }
        return item;
      }
      const prompt = s.prompts[s.prompts.length - 1];
      const item: Item = { path: '/v1/messages', body: this.backgroundBody(prompt), headers: headersFor(s.id), stream: false, tag: 'background', id: `bg:${prompt}` };
      if (rand() < 0.15) {
        later(now + between(150, 600), item);
      }
      const k = 2 + Math.floor(rand() * 3);
      for (let j = 0; j < k; j++) {
        later(now + between(2000, 30_000), item);
      }
      if (turn + 1 >= s.turns) {
        sessions[i] = newSession();
      }
      return item;
    };

    const schedule: ScheduledRequest[] = [];
    for (let slot = 0; slot < n; slot++) {
      const now = slot * slotMs;
      const item = due.length > 0 && due[0].at <= now ? (due.shift() as { item: Item }).item : original(now);
      schedule.push({ atMs: now, ...item });
    }
    return { schedule, summary: summarise(schedule, nextSession) };
  }
}

function summarise(schedule: ScheduledRequest[], sessions: number): WorkloadSummary {
  const firstSent = new Map<string, number>();
  const s: WorkloadSummary = {
    requests: schedule.length,
    unique: 0,
    repeats: 0,
    repeatShare: 0,
    concurrentRepeats: 0,
    sequentialRepeats: 0,
    sessions,
    byKind: {},
    stream: 0,
    nonStream: 0,
  };
  for (const r of schedule) {
    const k = (s.byKind[r.tag] ??= { requests: 0, repeats: 0, avgBytes: 0 });
    k.requests++;
    k.avgBytes += Buffer.byteLength(r.body);
    if (r.stream) {
      s.stream++;
    } else {
      s.nonStream++;
    }
    const first = firstSent.get(r.id);
    if (first === undefined) {
      s.unique++;
      firstSent.set(r.id, r.atMs);
    } else {
      s.repeats++;
      k.repeats++;
      if (r.atMs - first < 2000) {
        s.concurrentRepeats++;
      } else {
        s.sequentialRepeats++;
      }
    }
  }
  for (const k of Object.values(s.byKind)) {
    k.avgBytes = Math.round(k.avgBytes / Math.max(1, k.requests));
  }
  s.repeatShare = s.repeats / Math.max(1, s.requests);
  return s;
}
