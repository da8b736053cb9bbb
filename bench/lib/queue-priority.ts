/**
 * Priority inversion test of the queue benchmark. The `limited` provider (a fake that keeps request bodies)
 * has `JobQueue.providerConcurrency` = L. Background "fillers" (2 × L, each holding the provider for
 * `holdMs`) fill it and form a line; once L of them are at the provider, N background and N interactive
 * requests are sent interleaved (b0, i0, b1, i1, …) in one go. The fake's request log gives the order in
 * which they reached the provider; the tags are in the user text of each body.
 *
 * A background request b is an **inversion** when some interactive request i was sent to the gateway at
 * least `graceMs` before b reached the provider, yet reached the provider after b: b got a provider slot
 * while an interactive request that was already at the gateway waited. Background requests that reached the
 * provider before any interactive request had been sent (the first L fillers) cannot be inversions; the
 * grace excludes a background granted while an interactive request was still on its way into the line
 * (HTTP parsing, routing, enqueueing and the worker's pick-up). `strict` is the same count with no grace.
 */
import { request } from 'undici';
import { fakeReset, fakeStats, getJson } from './gateway';
import type { LatencyStats } from './open-loop';
import { stats } from './open-loop';
import { ANTHROPIC_HEADERS, answerError } from './queue-load';
import { MODEL, SLOW_PROVIDER, type ModeName } from './queue-procs';

export interface PriorityOptions {
  mode: ModeName;
  origin: string;
  fakeOrigin: string;
  /** Background and interactive requests of the burst (N each). */
  n: number;
  /** JobQueue.providerConcurrency of the limited provider. */
  limit: number;
  /** How long each filler holds its provider slot (ms). */
  holdMs: number;
  /** How long each burst request holds its slot (ms). */
  burstHoldMs: number;
  graceMs: number;
  /** No new request at the provider for this long while some are still waiting ⇒ abort them (a stall). */
  stallMs: number;
}

export interface PriorityResult {
  mode: ModeName;
  n: number;
  fillers: number;
  limit: number;
  graceMs: number;
  holdMs: number;
  burstHoldMs: number;
  sent: number;
  errors: number;
  firstError?: string;
  /** Requests of the test that reached the provider (must equal sent). */
  reachedProvider: number;
  /** Highest concurrency the provider saw (must not exceed the limit). */
  providerMaxInFlight: number;
  /** Background requests that reached the provider before the first interactive request was sent. */
  startedBeforeLine: number;
  inversions: number;
  inversionsStrict: number;
  /** (background, interactive) pairs behind the inversions (with the grace). */
  inversionPairs: number;
  /** Burst background requests (and waiting fillers) at the provider before the last interactive one. */
  backgroundBeforeLastInteractive: number;
  /** Arrival order at the provider, run-length encoded (F = filler, B = burst background, I = interactive). */
  order: string;
  /** Send → arrival at the provider (ms), per class of the burst. */
  waitInteractive: LatencyStats;
  waitBackground: LatencyStats;
  /** From sending the burst to the provider's first free slot (the first burst/filler request after the L). */
  lineFormedForMs: number;
  /** Time the burst took to send (ms). */
  sendSpreadMs: number;
  /** Nothing reached the provider for stallMs while requests were waiting: those were aborted. */
  stalled: boolean;
  /** Requests aborted by the stall watchdog (never answered). */
  stuck: number;
}

interface Tagged {
  kind: 'F' | 'B' | 'I';
  index: number;
  sentAt: number;
  /** Set from the fake's log. */
  seq?: number;
  at?: number;
  status?: number;
  error?: string;
}

interface Recorded {
  seq: number;
  at: number;
  api: string;
  body?: unknown;
}

const TAG = /qbench-(F|B|I)-(\d+)/;

function bodyOf(t: Tagged, holdMs: number): string {
  const chunks = 4;
  const directive = JSON.stringify({ firstByteDelayMs: 0, chunkCount: chunks, chunkGapMs: Math.max(1, Math.round(holdMs / chunks)) });
  return JSON.stringify({
    model: `${SLOW_PROVIDER},${MODEL}`,
    max_tokens: 64,
    stream: false,
    messages: [{ role: 'user', content: `qbench-${t.kind}-${t.index} [[fake:${directive}]]` }],
  });
}

function rle(kinds: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < kinds.length; ) {
    let j = i;
    while (j < kinds.length && kinds[j] === kinds[i]) {
      j += 1;
    }
    out.push(`${j - i}${kinds[i]}`);
    i = j;
  }
  return out.join(' ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function priorityRun(o: PriorityOptions): Promise<PriorityResult> {
  await fakeReset(o.fakeOrigin);
  const fillers = 2 * o.limit;
  const all: Tagged[] = [];
  const pending: Promise<void>[] = [];
  const stall = new AbortController();
  let open = 0;
  const send = (t: Tagged, holdMs: number) => {
    open += 1;
    all.push(t);
    const cls = t.kind === 'I' ? 'interactive' : 'background';
    pending.push(
      request(o.origin + '/v1/messages', {
        method: 'POST',
        headers: { ...ANTHROPIC_HEADERS, 'x-switchyard-priority': cls },
        body: bodyOf(t, holdMs),
        signal: AbortSignal.any([AbortSignal.timeout(180_000), stall.signal]),
      })
        .then(
          async (res) => {
            t.status = res.statusCode;
            t.error = answerError(false, res.statusCode, await res.body.text());
          },
          (err: Error) => void (t.error = `${err.name}: ${err.message}`),
        )
        .finally(() => void (open -= 1)),
    );
    t.sentAt = Date.now();
  };
  for (let i = 0; i < fillers; i++) {
    send({ kind: 'F', index: i, sentAt: 0 }, o.holdMs);
  }
  // The first L fillers are at the provider; give the others time to join the line behind them.
  const deadline = Date.now() + 20_000;
  while ((await fakeStats(o.fakeOrigin)).requests < o.limit) {
    if (Date.now() > deadline) {
      throw new Error(`priority (${o.mode}): the fillers did not reach the provider`);
    }
    await sleep(10);
  }
  await sleep(Math.min(300, o.holdMs / 4));
  const burstStart = Date.now();
  const t0 = performance.now();
  for (let i = 0; i < o.n; i++) {
    send({ kind: 'B', index: i, sentAt: 0 }, o.burstHoldMs);
    send({ kind: 'I', index: i, sentAt: 0 }, o.burstHoldMs);
  }
  const sendSpreadMs = performance.now() - t0;
  // Watchdog: a gateway that stops admitting requests to the provider would otherwise hold the run for minutes.
  let stalled = false;
  let stuck = 0;
  let last = -1;
  let lastChange = Date.now();
  while (open > 0) {
    await sleep(250);
    const seen = (await fakeStats(o.fakeOrigin)).requests;
    if (seen !== last) {
      last = seen;
      lastChange = Date.now();
    } else if (open > 0 && Date.now() - lastChange > o.stallMs) {
      stalled = true;
      stuck = open;
      stall.abort(new Error(`nothing reached the provider for ${o.stallMs} ms`));
      break;
    }
  }
  await Promise.all(pending);
  const log = await getJson<Recorded[]>(`${o.fakeOrigin}/__fake/requests?limit=1000000`, 30_000);
  const st = await fakeStats(o.fakeOrigin);
  const byTag = new Map(all.map((t) => [`${t.kind}-${t.index}`, t]));
  for (const r of log) {
    const m = r.api === 'openai' ? TAG.exec(JSON.stringify(r.body ?? '')) : null;
    const t = m ? byTag.get(`${m[1]}-${m[2]}`) : undefined;
    if (t && t.seq === undefined) {
      t.seq = r.seq;
      t.at = r.at;
    }
  }
  const reached = all.filter((t) => t.seq !== undefined).sort((a, b) => (a.seq as number) - (b.seq as number));
  const interactive = all.filter((t) => t.kind === 'I');
  const firstInteractiveSent = Math.min(...interactive.map((t) => t.sentAt));
  const count = (grace: number) => {
    let inv = 0;
    let pairs = 0;
    for (const b of reached) {
      if (b.kind === 'I') {
        continue;
      }
      const waiting = interactive.filter(
        (i) => i.sentAt <= (b.at as number) - grace && (i.seq === undefined ? i.error === undefined : i.seq > (b.seq as number)),
      ).length;
      if (waiting > 0) {
        inv += 1;
        pairs += waiting;
      }
    }
    return { inv, pairs };
  };
  const withGrace = count(o.graceMs);
  const strict = count(0);
  const lastI = Math.max(...interactive.map((t) => t.seq ?? -1));
  const afterFirst = reached.filter((t) => (t.at as number) >= burstStart);
  const wait = (kind: 'B' | 'I') => stats(all.filter((t) => t.kind === kind && t.at !== undefined).map((t) => (t.at as number) - t.sentAt));
  const errors = all.filter((t) => t.error !== undefined);
  return {
    mode: o.mode,
    n: o.n,
    fillers,
    limit: o.limit,
    graceMs: o.graceMs,
    holdMs: o.holdMs,
    burstHoldMs: o.burstHoldMs,
    sent: all.length,
    errors: errors.length,
    firstError: errors[0]?.error,
    reachedProvider: reached.length,
    providerMaxInFlight: st.maxInFlight,
    startedBeforeLine: reached.filter((t) => t.kind !== 'I' && (t.at as number) < firstInteractiveSent).length,
    inversions: withGrace.inv,
    inversionsStrict: strict.inv,
    inversionPairs: withGrace.pairs,
    backgroundBeforeLastInteractive: reached.filter((t) => t.kind !== 'I' && (t.seq as number) < lastI && (t.at as number) >= firstInteractiveSent).length,
    order: rle(reached.map((t) => t.kind)),
    waitInteractive: wait('I'),
    waitBackground: wait('B'),
    lineFormedForMs: afterFirst.length > 0 ? (afterFirst[0].at as number) - burstStart : NaN,
    sendSpreadMs,
    stalled,
    stuck,
  };
}
