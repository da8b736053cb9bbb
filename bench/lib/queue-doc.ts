/** docs/benchmarks/queue.md, generated from a QueueRunResult by bench/queue.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatProfileSummary, type ProfileSummary } from '../profile-summary';
import { fmtMs } from './open-loop';
import {
  added,
  ADDED_TARGET_MS,
  burstTable,
  evaluateQueueTargets,
  LAG_TARGET_MS,
  latencyTable,
  leaksFound,
  leakTable,
  priorityTable,
  RSS_TARGET_MB,
  TARGET_LABEL,
  targetsTable,
  type BurstCell,
  type QueueRunResult,
  type StressRun,
} from './queue-report';

const f0 = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f1 = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? n.toFixed(2) : '–');
const sum = (o: Record<string, number> | undefined) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);

function method(r: QueueRunResult): string {
  const o = r.options;
  const modes = r.modes.map((m) => `\`${m}\` (${TARGET_LABEL[m]})`).join(', ');
  return `- **Processes.** A private \`redis-server\` (free port, bound to 127.0.0.1, no persistence, stopped at the end);
  two fake providers in their own processes (\`scripts/fake-provider.ts\`): \`fake\` for the load phases and
  \`limited\` for the priority test; the gateway processes (\`node dist/main.js\`, \`NODE_ENV=production\`, \`LOG_LEVEL=warn\`),
  one group per mode, all started at the beginning and idle while another mode is measured: ${modes}. Each group has its
  own \`Redis.keyPrefix\` on the shared redis-server, so no gateway sees another's queues, slots or keys. Before anything
  is measured, \`GET /api/queue\` must report \`mode: "bullmq"\` for the queue modes and \`"local"\` for the others (a
  \`worker\` process serves no \`/api\`: it is proven by the \`api\` process' requests being answered — an \`api\` process
  has no processors). All load comes from the harness process (undici), never from a gateway process.
- **Config** (the \`queue\` mode's is in the JSON under \`config\`; the other modes differ only in \`JobQueue.enabled\` and
  \`Redis\`): \`Cache.enabled\` and \`Dedup.enabled\` false (every request reaches the worker); \`JobQueue.queues.interactive\`
  \`concurrency\` ${f0(Number(o.interactiveConcurrency))} and \`maxWaitMs\` 300 s (background 600 s); scheduled cluster jobs and
  provider health checks off. The interactive concurrency is N + 64 (\`--interactive-concurrency\`), what a deployment
  sized for N concurrent clients would configure: the burst is never held back by the class limit, yet the limit is a
  real one (the first runs needed 1,000,000 here, see "Fixed since the first runs"). The \`fake\` provider's upstream pool is pinned to N + 64 connections (\`Providers[].pool.connections\`):
  every stream holds a socket for its whole answer, and the default elastic pool grows only to \`Pools.maxConnections\` (256),
  so requests beyond 256 would wait in undici's queue in every mode (from the pool code, not measured here) — a sizing
  setting, not the queue layer.
- **Event-loop lag** of each gateway process: \`bench/lib/queue-lag-preload.cjs\` is loaded with
  \`NODE_OPTIONS=--require …\` (no product code changed) and runs \`perf_hooks.monitorEventLoopDelay\` (10 ms resolution).
  The harness "marks" right before and right after a measurement by connecting to the preload's Unix socket; each mark
  answers with the statistics of the window since the previous one (a socket rather than a signal: SIGUSR2 stopped the
  gateway when this benchmark was written, and the signal check at the end tells whether it still does). Lag = sample − 10 ms (the histogram
  records the time between two firings of a 10 ms timer: an idle loop reads ≈ 0.1 ms, a 40 ms block ≈ 32 ms); the p99 is
  over the ~100 samples per second of the window, so a handful of long blocks decides it.
- **RSS**: \`/proc/<pid>/status\` VmRSS every 100 ms during the burst (the peak is the target's number), VmHWM (peak since the
  process started) alongside. In the split topology both processes are measured and each must meet the targets.
- **Order**: Redis commands per request (fresh processes), then the burst phase, the latency phase, the priority test, a
  leak snapshot after each phase (1.5 s after the last answer), ${r.idle ? r.idle.seconds : 5} s of idling at the end, and
  last a **signal check**: one SIGUSR2 and one SIGHUP, each to one idle gateway process (\`direct, no Redis\`, then
  \`direct\`), which must still run and answer \`GET /api/queue\` 1.5 s later.

### Redis commands per request

Before any other traffic, each mode in turn answers 20 + 200 sequential small non-stream requests; \`INFO commandstats\`
before and after the 200 gives the commands per request (the harness' own INFO/SCAN and idle timers' PING/BZPOPMIN left out).

### 1. ${o.concurrency} concurrent streaming requests

The \`fake\` provider streams ~2 s answers: ${r.fake.stream}. Per target: a warm-up burst of min(200, N) streams, wait for
the gateway to go idle (and up to \`--quiet-wait\` s for the machine), reset the fake's counters, mark, then **N streaming
requests sent at once** (one undici Agent with a socket per request, all \`request()\` calls issued in one synchronous loop),
each read to its end and checked (ends with \`message_stop\`, no \`error\` event), then mark. TTFB = first body byte after t=0
(when the burst started), total = end of the body after t=0. "At provider at once" is the fake's in-flight high-water
mark (N = all the requests were upstream at the same time). CPU cores = the process' CPU time during the burst / wall
time. "Other load" = CPU used by processes that are not ours (other sessions' builds and tests), in cores.

### 2. Added latency of the queue

Small Anthropic Messages requests (~200 bytes, non-stream, one body repeated — cache and coalescing are off), the \`fake\`
answering at once (${r.fake.fast}). Closed loop: c workers, each sending its next request when the previous answer has
been read completely, c = ${o.latencyConcurrency}. Per target and c: a warm-up (100–300 requests), then ${o.latencyRequests}
measured requests in ${o.rounds} rounds, the targets interleaved and their order rotated every round (machine noise is
spread over all of them). Targets: the fake's own \`/v1/messages\` (no gateway: the floor) and every gateway mode.
**Added = a queue mode's percentile − the same percentile of \`direct\`**: both have Redis on with the same features, so
the difference is the queue layer (\`queue.add\`, the worker's pick-up, the Redis Stream relay). \`direct, no Redis\` shows
what the Redis-backed hot-path features cost by themselves. CPU µs/req = CPU time of each process over the target's
rounds / its requests (the harness' own CPU included), which says where a request's time goes.

### 3. Priority inversion

The \`limited\` fake (request bodies kept) is behind \`JobQueue.providerConcurrency: {limited: ${o.providerLimit}}\` (the
cluster-wide provider slots: a Redis semaphore with a priority-ordered line when Redis is up, an in-process priority
semaphore without Redis). ${2 * Number(o.providerLimit)} background "fillers" (\`x-switchyard-priority: background\`,
each holding the provider 1.5 s) go first; once ${o.providerLimit} of them are at the provider (the fake's counter) and
300 ms later (the other fillers are in the line), **${o.priorityN} background and ${o.priorityN} interactive requests are
sent interleaved** (b0, i0, b1, i1, … in one loop), each holding the provider 40 ms; default class priorities
(interactive 10, background 1). Each request carries a tag in its user text; the fake's request log (\`GET /__fake/requests\`:
arrival order = sequence number, arrival time = its clock) gives the order in which they reached the provider. If
nothing reaches the provider for ${o.stallS} s while requests wait, the rest are aborted and the run is "stalled".

**Definition.** A background request *b* is an **inversion** when some interactive request *i* was sent to the gateway at
least ${o.graceMs} ms (the grace) before *b* reached the provider, and reached the provider after *b*: *b* got a provider
slot while an interactive request already at the gateway was waiting. Excluded by construction: the ${o.providerLimit}
fillers that reached the provider before any interactive request existed ("started before the line"). The grace
excludes a background request granted while an interactive one was still on its way into the line (HTTP parsing,
routing, \`queue.add\`, the worker's pick-up: milliseconds); the first slot frees ~1.2 s after the burst was sent, so in a
working run every interactive request is long in the line by then and the grace changes nothing. "strict" = the same count
with no grace. Arrival order, run-length encoded: F = filler, B = background, I = interactive of the burst (correct:
${o.providerLimit}F, then every I, then the remaining F and all B).`;
}

function burstOf(r: QueueRunResult, t: string): BurstCell | undefined {
  return r.bursts.find((b) => b.target === t);
}

const QUEUE_MODES = new Set(['queue', 'queue-split']);

/** Error kinds of a queue-mode burst: the API side gave a live worker up (issue 2's symptom). */
const LOST_WORKER = /stopped before finishing/;
/** A stream that got no answer before the client's timeout. */
const TIMED_OUT = /TimeoutError|aborted due to timeout/;
/** The worker's clean 503 for a job whose requester key had lapsed (1842d39): issue 3's cause, now visible. */
const GIVEN_UP = /given up before a worker took it/;

/** Warn/error log lines of the queue-mode processes that point at a (false) Redis outage. */
function outageLines(w: QueueRunResult['logWarnings'] | undefined): string[] {
  return (w ?? [])
    .filter((x) => QUEUE_MODES.has(x.mode))
    .flatMap((x) =>
      Object.entries(x.messages)
        .filter(([k]) => /Redis unavailable|enqueue failed|Redis call failed/.test(k))
        .map(([k, v]) => `${TARGET_LABEL[x.mode]} (${x.role}): ${v} × "${k}"`),
    );
}

/** "Redis unavailable" verdicts of the watchdog logged by queue-mode processes. */
function watchdogVerdicts(w: QueueRunResult['logWarnings'] | undefined): number {
  return (w ?? [])
    .filter((x) => QUEUE_MODES.has(x.mode))
    .reduce((n, x) => n + sum(Object.fromEntries(Object.entries(x.messages).filter(([k]) => /Redis unavailable/.test(k)))), 0);
}

function burstErrors(b: BurstCell): string {
  return `${f0(b.ok)} of ${f0(b.sent)} completed` + (b.errors > 0 ? ` (${Object.entries(b.errorKinds).map(([k, v]) => `${v} × ${k}`).join('; ')})` : '');
}

/** Whether a mode's processes logged the false outage in this run. */
function loggedOutage(w: QueueRunResult['logWarnings'] | undefined, mode: string): boolean {
  return (w ?? []).some((x) => x.mode === mode && Object.keys(x.messages).some((k) => /Redis unavailable/.test(k)));
}

function errorsMatching(b: BurstCell, re: RegExp): number {
  return Object.entries(b.errorKinds)
    .filter(([k]) => re.test(k))
    .reduce((n, [, v]) => n + v, 0);
}

/** Issue 2 in this run: queue-mode answers lost to a false outage (a live worker given up, or no answer after an outage verdict). */
function outageBursts(r: QueueRunResult): BurstCell[] {
  return r.bursts.filter(
    (b) => QUEUE_MODES.has(b.target) && (errorsMatching(b, LOST_WORKER) > 0 || (errorsMatching(b, TIMED_OUT) > 0 && loggedOutage(r.logWarnings, b.target))),
  );
}

/** Issue 3 in this run: queue-mode streams with no answer and no outage verdict, or the worker's "given up" 503. */
function hangBursts(r: QueueRunResult): BurstCell[] {
  return r.bursts.filter(
    (b) => QUEUE_MODES.has(b.target) && (errorsMatching(b, GIVEN_UP) > 0 || (errorsMatching(b, TIMED_OUT) > 0 && !loggedOutage(r.logWarnings, b.target))),
  );
}

/** Issue 1 in this run: something still held with nothing in flight, or the direct-mode priority test stalled. */
function leakSeen(r: QueueRunResult): boolean {
  return leaksFound(r) || r.priority.some((p) => p.stalled && !QUEUE_MODES.has(p.mode));
}

function signalsKilled(r: QueueRunResult): NonNullable<QueueRunResult['signals']> {
  return (r.signals ?? []).filter((s) => !s.survived || !s.answered);
}

/** Stress runs made on the code of this run (the earlier ones predate the fixes). */
function stressOnThisCode(r: QueueRunResult): StressRun[] {
  return (r.stress ?? []).filter((st) => st.commit !== undefined && st.commit === r.commit);
}

/** "commit abc1234" or, for a result from before the commit was recorded, a pointer to the fixes. */
function codeOf(commit: string | undefined): string {
  return commit ? `commit ${commit}` : 'code from before the fixes of "Fixed since the first runs" (no commit recorded)';
}

/**
 * The issues the first runs of this benchmark found, each with its evidence from back then (one sentence) and the
 * commit(s) that fixed it. Shown under "Fixed since the first runs" unless the run shows the problem again, in which
 * case it is reported under "Product issues found" with that run's evidence.
 */
const FIXED = {
  leak: {
    n: 1,
    title: 'Answered requests never released what they held (class slots, provider slots, relay handles, requester keys)',
    evidence:
      'the run of 2026-11-27 11:37 found, with nothing in flight after 4,130 answered requests, 3,920 interactive class slots and ' +
      '5 `limited` provider slots still held in direct mode (its priority test stalled: 205 of 210 requests never reached the ' +
      'provider) and 4,130 relay handles and requester keys open in queue mode, re-`SET` at ~5,000 SET/s while idle',
    fix: '324dea3 (the egress closes the answer\'s event chain after the terminal event: `releaseEvents` in src/gateway/egress-writer.ts, used by src/gateway/answer.ts)',
  },
  outage: {
    n: 2,
    title: 'Queue mode lost answers after a false "Redis unavailable" under CPU saturation',
    evidence:
      'three burst-only runs at 2026-11-27 11:07–11:14 with a busy loop on the box (other load 1.6–1.8 cores): the one-process ' +
      'queue mode completed only 330, 442 and 453 of 1,000 streams (the rest: "the worker running this request stopped before ' +
      'finishing it", or no answer at all), each run logging "Redis unavailable: running in degraded (in-memory) mode (Command ' +
      'timed out)", while direct mode completed 1,000 of 1,000 each time',
    fix:
      '5392eda (the worker\'s relay writes use the hot client whatever the watchdog says, retried with back-off, idempotent ' +
      'entry ids) and 1842d39 (the relay refreshes the requester keys likewise)',
  },
  hang: {
    n: 3,
    title: 'Queue-mode streams that never got an answer, with nothing logged',
    evidence:
      'two full default runs (2026-11-27 10:55 and 11:28, other load 1.1–1.2 cores) left 45 and 59 of 1,000 api + worker streams ' +
      'without a byte until the client\'s timeout, with both processes idle, no warning logged and no failed BullMQ job; never ' +
      'caught under observation — the likely cause, a requester key lapsing while the watchdog flagged Redis down and the ' +
      'worker then skipping the job silently, is what the fix addresses',
    fix:
      '1842d39 (the relay keeps the requester keys alive with the hot client whatever the watchdog says; a worker that finds the key ' +
      'gone ends the stream with a clean 503 "the queued request was given up before a worker took it")',
  },
  signals: {
    n: 4,
    title: 'SIGUSR2 and SIGHUP shut the gateway down',
    evidence: '`app.enableShutdownHooks()` without a signal list ran NestJS\' shutdown on every signal of its default list (found when this benchmark first marked its windows with SIGUSR2)',
    fix: '6f0b2c2 (`enableShutdownHooks([\'SIGTERM\', \'SIGINT\'])` in src/app.factory.ts)',
  },
};

function fixedSection(r: QueueRunResult): string[] {
  const out: string[] = [];
  const item = (x: { n: number; title: string; evidence: string; fix: string }, now: string) =>
    out.push(`- **${x.n}. ${x.title}.** Evidence: ${x.evidence}. Fixed in ${x.fix}.${now ? ` ${now}` : ''}`);
  if (!leakSeen(r)) {
    const served = Math.max(0, ...r.leaks.map((l) => l.served));
    const directPrio = r.priority.filter((p) => !QUEUE_MODES.has(p.mode));
    item(
      FIXED.leak,
      (r.leaks.length > 0 ? `This run: every leak indicator 0 in every snapshot (up to ${f0(served)} requests answered per mode)` : 'This run: leaks not measured') +
        (directPrio.length > 0 ? `; the priority test ran to the end in ${directPrio.map((p) => `\`${p.mode}\``).join(' and ')}` : '') +
        `; interactive class concurrency back to N + 64 = ${f0(Number(r.options.interactiveConcurrency))}. (A separate retained-heap check, ~3 KB per answered request in direct mode before the fix, was not repeated.)`,
    );
  }
  const queueBursts = r.bursts.filter((b) => QUEUE_MODES.has(b.target));
  const stressed = stressOnThisCode(r);
  const stressNote =
    stressed.length > 0
      ? ` Under CPU stress on this code: ${stressed.map((st) => `\`--stress-cores ${st.cores}\` at ${st.at}: ${st.bursts.filter((b) => QUEUE_MODES.has(b.target)).map((b) => `${TARGET_LABEL[b.target]} ${burstErrors(b)}`).join('; ')}`).join(' · ')}.`
      : ' Not re-tested under CPU stress on this code (`npx tsx bench/queue.ts --stress-cores 1 --phases burst`)' +
        ((r.stress ?? []).length > 0 ? '; the stressed runs under Results predate the fix.' : '.');
  if (outageBursts(r).length === 0) {
    const verdicts = watchdogVerdicts(r.logWarnings);
    item(
      FIXED.outage,
      (queueBursts.length > 0
        ? `This run: ${queueBursts.map((b) => `${TARGET_LABEL[b.target]} ${f0(b.ok)} of ${f0(b.sent)} (other load ${f1(b.otherLoadCores)} cores)`).join(', ')}` +
          (verdicts > 0 ? `, with ${verdicts} "Redis unavailable" verdict(s) logged by the queue-mode processes and no answer lost.` : ', no "Redis unavailable" logged (no stall long enough to trip the watchdog).')
        : 'This run: no queue-mode burst.') +
        stressNote +
        ' Unchanged: the watchdog still declares Redis down when the event loop is blocked (enqueues then run in-process), and such ' +
        'stalls can still fire the worker\'s first-byte deadline (17 × HTTP 504 in the stressed run of 2026-11-27 11:21).',
    );
  }
  if (hangBursts(r).length === 0) {
    item(FIXED.hang, queueBursts.length > 0 ? 'This run: no queue-mode stream went unanswered and none got the new 503.' : '');
  }
  if (signalsKilled(r).length === 0) {
    const s = r.signals ?? [];
    item(
      FIXED.signals,
      s.length > 0
        ? `This run: ${s.map((x) => `${x.signal} to ${TARGET_LABEL[x.mode]} (${x.role}): still running and answering 1.5 s later`).join('; ')}.`
        : 'Not checked in this run.',
    );
  }
  return out.length > 0 ? out : ['Every issue of the first runs showed again in this run: see above.'];
}

function leakIssue(r: QueueRunResult): string[] {
  const last = (mode: string) => [...r.leaks].reverse().find((l) => l.mode === mode);
  const d = last('direct');
  const q = last('queue');
  const stalled = r.priority.filter((p) => p.stalled && !QUEUE_MODES.has(p.mode));
  const idle = r.idle;
  const qIdle = idle?.procs.filter((p) => QUEUE_MODES.has(p.mode) && p.role !== 'worker');
  return [
    `### 1. ${FIXED.leak.title} — again, despite ${FIXED.leak.fix.split(' ')[0]}`,
    '',
    `Fixed in ${FIXED.leak.fix}, yet this run shows answered requests still holding resources. Leak indicators read from ` +
      '`GET /api/queue` with nothing in flight, 1.5 s after the last answer (longer than the egress\' 1 s tail); every count should be 0:',
    '',
    ...(d
      ? [
          `- **direct mode**: ${f0(d.interactiveRunning)} interactive and ${f0(d.backgroundRunning)} background class slots still "running" ` +
            `after ${f0(d.served)} answered requests, ${f0(d.slotsHeld)} \`limited\` provider slots held` +
            (stalled.length > 0
              ? `; the priority test **stalled** in ${stalled.map((p) => `\`${p.mode}\``).join(' and ')}: only ${stalled[0].reachedProvider} ` +
                `requests reached the provider, the other ${stalled[0].stuck} waited until aborted`
              : '') +
            '.',
        ]
      : []),
    ...(q
      ? [
          `- **queue mode**: ${f0(q.relayedInFlight)} relay handles open and ${f0(q.waitingKeys ?? NaN)} requester keys alive on Redis ` +
            `after ${f0(q.served)} answered requests (last snapshot 6 s after the traffic, past \`workerLostMs\`)` +
            (idle
              ? `; idle at the end (${idle.seconds} s, nothing sent): Redis ${f0(idle.redisSetPerS)} SET/s, from the relay sweepers of ` +
                `${qIdle?.map((p) => `${p.mode}/${p.role}`).join(', ')}`
              : '') +
            '.',
        ]
      : []),
    '',
    'All snapshots are in the leak table under Results.',
  ];
}

function outageIssue(r: QueueRunResult): string[] {
  const own = outageBursts(r);
  const ownLog = outageLines(r.logWarnings);
  return [
    `### 2. ${FIXED.outage.title} — again, despite ${FIXED.outage.fix.split(' ')[0]}`,
    '',
    `Fixed in ${FIXED.outage.fix}, yet in this run queue-mode answers were lost: the API side gave a live worker up ` +
      '("stopped before finishing it"), or streams got no answer after the process had declared Redis down.',
    '',
    ...own.map((b) => `- ${TARGET_LABEL[b.target]} burst (other load ${f1(b.otherLoadCores)} cores): ${burstErrors(b)}.`),
    ...(ownLog.length > 0 ? [`- gateway logs: ${ownLog.join('; ')}.`] : []),
  ];
}

function hangIssue(r: QueueRunResult): string[] {
  const own = hangBursts(r);
  return [
    `### 3. ${FIXED.hang.title} — again, despite ${FIXED.hang.fix.split(' ')[0]}`,
    '',
    `Fixed in ${FIXED.hang.fix} (the likely cause; never caught in the act). This run shows it again — as client timeouts ` +
      'without an outage logged by that mode, and/or as the worker\'s new 503 (a requester key that lapsed while the requester ' +
      'was still waiting, i.e. the keep-alive still failed):',
    '',
    ...own.map(
      (b) =>
        `- ${TARGET_LABEL[b.target]} burst (other load ${f1(b.otherLoadCores)} cores): ${burstErrors(b)}; the processes used ` +
        `${b.procs.map((p) => `${p.role} ${f2(p.cpuCores)}`).join(', ')} cores over the burst window; TTFB p50 per tenth of the ` +
        `send order ${b.ttfbByDecile.map(f0).join(' / ')} ms; ` +
        `BullMQ failed jobs afterwards: ${JSON.stringify([...r.leaks].reverse().find((l) => l.mode === b.target)?.failedJobs ?? {})}.`,
    ),
    ...(outageLines(r.logWarnings).length > 0 ? [`- gateway logs: ${outageLines(r.logWarnings).join('; ')}.`] : []),
  ];
}

function signalIssue(r: QueueRunResult): string[] {
  return [
    `### 4. ${FIXED.signals.title} — still, after ${FIXED.signals.fix.split(' ')[0]}`,
    '',
    `${FIXED.signals.fix.split(' ')[0]} limits NestJS' shutdown hooks to SIGTERM/SIGINT, so Nest no longer listens for ` +
      'SIGUSR2/SIGHUP — but then nothing in the process does, and a Node.js process without a listener for them keeps the ' +
      'operating system\'s default action: terminate. The gateway still stops on them, now abruptly (no graceful shutdown, ' +
      'in-flight requests cut). This run, one signal to one idle gateway process each at the end:',
    '',
    ...(r.signals ?? []).map(
      (s) =>
        `- ${s.signal} to ${TARGET_LABEL[s.mode]} (${s.role}): ${s.survived ? (s.answered ? 'still running and answering' : 'still running but NOT answering `GET /api/queue`') : `**gone** 1.5 s later (exit: ${s.exit ?? '?'})`}.`,
    ),
    '',
    `Fix direction (not changed here): install explicit listeners (e.g. \`process.on('SIGUSR2', …)\` / \`'SIGHUP'\` that log and ` +
      'carry on, or reload the config on SIGHUP), and a test that sends them to a running app.',
  ];
}

function productIssues(r: QueueRunResult): string[] {
  const out: string[] = [];
  const add = (lines: string[]) => out.push(...(out.length > 0 ? [''] : []), ...lines);
  if (leakSeen(r)) {
    add(leakIssue(r));
  }
  if (outageBursts(r).length > 0) {
    add(outageIssue(r));
  }
  if (hangBursts(r).length > 0) {
    add(hangIssue(r));
  }
  if (signalsKilled(r).length > 0) {
    add(signalIssue(r));
  }
  return out.length > 0
    ? out
    : ['None in this run: every leak indicator was 0 with nothing in flight, every queue-mode stream was answered, and the gateway survived SIGUSR2/SIGHUP.'];
}

/** (queue − direct) CPU per request × c / cores, in ms: the queueing the extra CPU alone explains on a saturated box. */
function satEstimate(r: QueueRunResult, c: number): number {
  const d = r.latency.find((x) => x.target === 'direct' && x.concurrency === c);
  const q = r.latency.find((x) => x.target === 'queue' && x.concurrency === c);
  return d && q ? ((sum(q.cpuUsPerReq) - sum(d.cpuUsPerReq)) / 1000) * (c / r.machine.cores) : NaN;
}

function missedWhy(r: QueueRunResult): string[] {
  const out: string[] = [];
  const rows = evaluateQueueTargets(r);
  const missed = rows.filter((t) => t.met === false);
  if (missed.length === 0) {
    return ['Every target was met in this run.'];
  }
  out.push('Targets missed in this run, and why:', '');
  const direct = burstOf(r, 'direct');
  const queue = burstOf(r, 'queue');
  const split = burstOf(r, 'queue-split');
  const lagMiss = missed.some((t) => t.target.includes('event-loop lag'));
  const rssMiss = missed.some((t) => t.target.includes('peak RSS'));
  const addMiss = missed.some((t) => t.target.includes('added p50'));
  const prioMiss = missed.some((t) => t.target.includes('priority'));
  const errMiss = missed.some((t) => t.target.includes('all succeed'));
  if (errMiss) {
    for (const b of r.bursts.filter((x) => x.errors > 0)) {
      out.push(
        `- **Errors in the burst (${TARGET_LABEL[b.target]}, other load ${f1(b.otherLoadCores)} cores)**: ${Object.entries(b.errorKinds).map(([k, v]) => `${v} × ${k}`).join('; ')}.` +
          (outageBursts(r).includes(b) ? ' See product issue 2: answers lost after a false "Redis unavailable".' : '') +
          (hangBursts(r).includes(b) ? ' See product issue 3: streams with no answer.' : '') +
          (QUEUE_MODES.has(b.target) && loggedOutage(r.logWarnings, b.target) ? ' The mode\'s processes logged "Redis unavailable" (the watchdog\'s verdict under a blocked loop).' : ''),
      );
    }
  }
  if (lagMiss) {
    const worstAt = (t: number[]) => t.indexOf(Math.max(0, ...t));
    const blocks = (b?: BurstCell) =>
      b?.procs
        .map(
          (p) =>
            `${p.role}: ${p.lagTimeline.filter((x) => x >= LAG_TARGET_MS).length} of ${p.lagTimeline.length} slices ≥ ${LAG_TARGET_MS} ms, ` +
            `worst ${f0(Math.max(0, ...p.lagTimeline))} ms in slice ${worstAt(p.lagTimeline) + 1}`,
        )
        .join('; ');
    const directEarly = direct?.procs[0] ? worstAt(direct.procs[0].lagTimeline) <= 1 : false;
    out.push(
      `- **Event-loop lag p99 ≥ ${LAG_TARGET_MS} ms during the burst.** The N requests arrive within ~${f0(direct?.sendSpreadMs)} ms; a request costs ` +
        'the gateway 1–2 ms of CPU (the CPU column of the latency table: a small non-stream request through the direct gateway, ' +
        `c=1, ${f0(r.latency.find((x) => x.target === 'direct' && x.concurrency === 1)?.cpuUsPerReq.gateway)} µs in all), then each of the ` +
        `${f0(Number(r.options.chunks))} deltas of every answer is converted and written to its client: the gateway process runs at ~1 core ` +
        `(direct ${f2(direct?.procs[0]?.cpuCores)}, queue ${f2(queue?.procs[0]?.cpuCores)}) on a ${r.machine.cores}-core box that also runs the ` +
        'harness reading N streams, the fake and redis-server. Slices of 250 ms with their worst lag — direct: ' +
        `${blocks(direct) ?? '–'}; queue: ${blocks(queue) ?? '–'}${split ? `; split: ${blocks(split)}` : ''} (slice 1 starts as the burst is sent). ` +
        (directEarly
          ? 'In direct mode the worst block is the arrival of the burst itself (connections accepted and requests parsed back to back); '
          : 'In direct mode the long blocks are spread over the answers (SSE writes to N clients, GC); ') +
        'in queue mode the relay adds its own work on top of the answers\' (since 2026-11-27 22:00 the worker\'s outbox writes what every job ' +
        'produced as one pipeline per round trip — one XADD per job, one PUBLISH per API instance — and an `all` process hands its own ' +
        'jobs to its relay in-process; before, each job wrote its batches as pipelines of its own and the relay re-read every open stream ' +
        `per sweep and per drained buffer): a ${f0(Number(r.options.concurrency))}-stream burst still means BullMQ's scripts for every job, ` +
        `${f0(Number(r.options.chunks) * Number(r.options.concurrency))} deltas serialized for the stream and parsed back on the api side ` +
        '(the `writeUtf8String` under ioredis in the profile is the XADDs\' socket writes), plus the heavier GC of the single `all` ' +
        'process holding both sides' +
        (queue && queue.providerMaxInFlight >= queue.sent
          ? ` — here with all ${f0(queue.sent)} jobs at the provider at once (direct: ${f0(direct?.providerMaxInFlight)}), so the one loop relayed every answer at the same time`
          : '') +
        '. ' +
        (split
          ? split.procs.every((p) => p.lag.p99Ms < LAG_TARGET_MS)
            ? 'Splitting api and worker halves the load per loop and brings both under the target.'
            : `Splitting api and worker halves the load per loop (${split.procs.map((p) => `${p.role} p99 ${f1(p.lag.p99Ms)} ms`).join(', ')}), not below the target for every process.`
          : ''),
    );
  }
  if (rssMiss) {
    out.push(
      `- **Peak RSS ≥ ${RSS_TARGET_MB} MB** (${missed.filter((t) => t.target.includes('peak RSS')).map((t) => `${t.target.split(':')[0]} ${t.measured}`).join(', ')}). ` +
        `The \`all\` process holds both sides of every queued stream — the client's request and answer, the BullMQ job and its ` +
        'Redis command buffers, the upstream response and the publisher\'s batches — where direct mode holds one ' +
        `(direct ${f0(direct?.procs[0]?.peakRssMb)} MB${split ? `; split: api ${f0(split.procs.find((p) => p.role === 'api')?.peakRssMb)} / worker ${f0(split.procs.find((p) => p.role === 'worker')?.peakRssMb)} MB` : ''}). ` +
        `RSS before the burst was ${f0(queue?.procs[0]?.rssBeforeMb)} MB (direct ${f0(direct?.procs[0]?.rssBeforeMb)}): the growth is the burst itself.`,
    );
  }
  if (addMiss) {
    const conc = [...new Set(r.latency.map((x) => x.concurrency))].sort((a, b) => a - b);
    const parts = conc.map((c) => {
      const dc = r.latency.find((x) => x.target === 'direct' && x.concurrency === c);
      const qc = r.latency.find((x) => x.target === 'queue' && x.concurrency === c);
      const a = added(r, 'queue', 'direct', c);
      return `c=${c}: all processes ${f0(sum(dc?.cpuUsPerReq))} → ${f0(sum(qc?.cpuUsPerReq))} µs of CPU per request (gateway ${f0(dc?.cpuUsPerReq.gateway)} → ${f0(qc?.cpuUsPerReq.gateway)}, redis ${f0(dc?.cpuUsPerReq.redis)} → ${f0(qc?.cpuUsPerReq.redis)}), added p50 ${f2(a?.p50)} ms`;
    });
    const rc = r.redisCommands.find((x) => x.mode === 'queue');
    const rd = r.redisCommands.find((x) => x.mode === 'direct');
    out.push(
      `- **Added latency > ${ADDED_TARGET_MS} ms at the higher concurrency.** A queued request costs about twice the CPU of a direct ` +
        `one: ${parts.join('; ')}. ` +
        (rc
          ? `Redis counts ${f1(rc.total)} commands per queued request, most of them inside BullMQ's ${f1(rc.perRequest.evalsha)} Lua script calls ` +
            `(direct mode: ${f1(rd?.total)}; list under "Other findings"). `
          : '') +
        'At c=1 the box has idle CPU and the added time is mostly those round trips (within the target). At c=8 both cores are ' +
        'saturated (the harness, the fake and redis-server share them), so extra CPU per request turns into queueing for every ' +
        `request in flight: extra CPU × c / cores = ${f1(satEstimate(r, 8))} ms of the ${f2(added(r, 'queue', 'direct', 8)?.p50)} ms measured at c=8 ` +
        '(the rest: the round trips, and more processes to schedule on the same two cores). Where the gateway\'s extra time goes ' +
        '(profile below): ioredis command encoding and socket writes (`writeUtf8String` via `Pipeline.write` and ' +
        '`sendCommand`), BullMQ\'s Lua scripts, the publisher\'s pipelines (job-publisher.ts) and the relay\'s XREADs ' +
        '(job-relay.ts), and GC. On a box with spare cores (Redis and the worker elsewhere) the c=8 number would approach the c=1 one.',
    );
  }
  if (prioMiss) {
    const stalled = r.priority.filter((p) => p.stalled).map((p) => `\`${p.mode}\``);
    const bad = r.priority.filter((p) => !p.stalled && (p.inversions > 0 || p.errors > 0));
    if (stalled.length > 0) {
      out.push(
        `- **Priority test stalled in ${stalled.join(', ')}**: nothing reached the provider for ${r.options.stallS} s while requests waited` +
          (leakSeen(r) ? ' — provider slots held by answered requests (product issue 1).' : '.'),
      );
    }
    for (const p of bad) {
      out.push(`- **Priority, ${TARGET_LABEL[p.mode]}**: ${p.inversions} inversions, ${p.errors} errors (first: ${p.firstError ?? '–'}); order \`${p.order}\`.`);
    }
  }
  return out;
}

function otherFindings(r: QueueRunResult): string[] {
  const out: string[] = [];
  const direct = burstOf(r, 'direct');
  const queue = burstOf(r, 'queue');
  const fake = burstOf(r, 'fake');
  const gw = r.bursts.filter((b) => b.target !== 'fake');
  const short = gw.filter((b) => b.providerMaxInFlight < b.sent);
  const full = gw.filter((b) => b.providerMaxInFlight >= b.sent);
  if (fake && direct) {
    out.push(
      `- **The burst is CPU-bound in every mode.** Straight to the fake, all ${f0(fake.sent)} streams start within ` +
        `${f0(fake.ttfb.max)} ms (TTFB p50 ${f0(fake.ttfb.p50)} ms). Through the gateway the last tenths of the burst get their first ` +
        `byte seconds later: TTFB p50 per tenth of the send order — direct ${direct.ttfbByDecile.map(f0).join(' / ')} ms` +
        (queue ? `; queue ${queue.ttfbByDecile.map(f0).join(' / ')} ms` : '') +
        `. At the provider at once: ${gw.map((b) => `${TARGET_LABEL[b.target]} ${f0(b.providerMaxInFlight)}`).join(', ')}` +
        (short.length > 0 ? ' — below N where the first answers (~2 s) ended before the gateway had started the last requests' : '') +
        (full.length > 0
          ? `; ${full.map((b) => TARGET_LABEL[b.target]).join(', ')} had every request upstream at once, yet its clients got their first ` +
            'bytes late and close together: there the relay back to the clients, not starting the requests, was the bottleneck'
          : '') +
        (gw.every((b) => b.errors === 0) ? '. Every request still completed.' : '.'),
    );
  }
  if (r.redisCommands.length > 0) {
    out.push(
      '- **Redis commands per request** (small non-stream, fresh processes; Redis counts the commands run inside Lua scripts ' +
        'too, so most of the queue modes\' count is BullMQ\'s scripts — `evalsha` is the number of script calls): ' +
        r.redisCommands.map((x) => `${TARGET_LABEL[x.mode]} **${f1(x.total)}** (${Object.entries(x.perRequest).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')})`).join('; ') +
        '.',
    );
  }
  for (const c of [...new Set(r.latency.map((x) => x.concurrency))].sort((a, b) => a - b)) {
    const a = added(r, 'queue', 'direct', c);
    const s = added(r, 'queue-split', 'direct', c);
    const n = added(r, 'direct', 'direct-noredis', c);
    if (a) {
      out.push(
        `- **Added latency, c=${c}**: queue − direct p50 ${f2(a.p50)} ms (p95 ${f2(a.p95)})` +
          (s ? `, api + worker − direct p50 ${f2(s.p50)} ms (p95 ${f2(s.p95)})` : '') +
          (n ? `; direct with Redis − direct without: p50 ${f2(n.p50)} ms (the Redis-backed hot-path features).` : '.'),
      );
    }
  }
  const prio = (ps: typeof r.priority) =>
    ps.map((p) => `${TARGET_LABEL[p.mode]} ${p.inversions} inversions, order \`${p.order}\`, interactive waited p50 ${f0(p.waitInteractive.p50)} ms vs background ${f0(p.waitBackground.p50)} ms`).join('; ');
  const held = (ps: typeof r.priority) => (ps.every((p) => p.inversions === 0 && p.errors === 0) ? 'and it held' : 'and it did not hold everywhere (see the table)');
  const q = r.priority.filter((p) => !p.stalled && QUEUE_MODES.has(p.mode));
  if (q.length > 0) {
    out.push(
      `- **Priority in queue mode**: ${prio(q)}. ` +
        'Interactive and background jobs sit on separate BullMQ queues with their own workers, so both reach the provider-slot ' +
        `line, which serves by priority: the limited provider is where ordering happens, ${held(q)}.`,
    );
  }
  const d = r.priority.filter((p) => !p.stalled && !QUEUE_MODES.has(p.mode));
  if (d.length > 0) {
    out.push(
      `- **Priority in direct mode** (measurable since the slot leak was fixed): ${prio(d)}. ` +
        'The in-process scheduler admits both classes (background up to its class concurrency, 64 by default), and the requests ' +
        `meet in the provider-slot line — the Redis semaphore with Redis, the in-process priority semaphore without — ${held(d)}.`,
    );
  }
  return out;
}

function profileOverview(r: QueueRunResult): string[] {
  const ps = r.profiles ?? [];
  if (ps.length === 0) {
    return ['No profile yet: `npx tsx bench/queue.ts --cpu-prof --phases burst,latency` adds them (per gateway process, per measured window).'];
  }
  const share = (s: ProfileSummary, re: RegExp) => s.byPackage.filter((p) => re.test(p.name)).reduce((a, b) => a + b.ms, 0);
  const redisNative = (s: ProfileSummary) => s.top.filter((t) => (t.location === '' || t.location === '(native)') && /ioredis|bullmq/.test(t.via ?? '')).reduce((a, b) => a + b.ms, 0);
  const rows = ps.map((p) => {
    const s = p.summary;
    const redis = share(s, /^(ioredis|bullmq|redis-parser|cluster-key-slot)$/) + redisNative(s);
    return `| ${[
      TARGET_LABEL[p.target],
      p.role,
      p.window,
      f0(s.busyMs),
      f0((s.busyMs * 1000) / Math.max(1, p.requests)),
      f1(s.gcPct),
      `${f0(redis)} (${f1((redis / Math.max(1, s.busyMs)) * 100)}%)`,
      f0(share(s, /^src\/queue\/$/)),
      `\`${s.top.find((t) => !t.name.startsWith('('))?.name ?? '–'}\``,
    ].join(' | ')} |`;
  });
  return [
    `From a \`--cpu-prof\` run at ${r.profiledAt ?? '?'}, ${codeOf(r.profiledCommit)} (inspector profiler in the preload, 1 ms sampling, started and stopped at the ` +
      'marks of each window; the profiler slows the process, so that run\'s own numbers are not in the tables above). ' +
      '"Redis client" = self time in ioredis, bullmq and redis-parser plus the native socket writes they call (`writeUtf8String`, ' +
      '`writeBuffer`); "per request" divides the busy time by the requests of the window.',
    '',
    '| target | process | window | busy ms | busy µs per request | GC % | Redis client ms (% busy) | src/queue self ms | top non-GC function |',
    '|---|---|---|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
    'Per profile (top rows; the JSON has 20 of each):',
    '',
    ...ps.map((p) => {
      const s = { ...p.summary, top: p.summary.top.slice(0, 12), byPackage: p.summary.byPackage.slice(0, 10), appInclusive: p.summary.appInclusive.slice(0, 12) };
      return `<details><summary>${TARGET_LABEL[p.target]} (${p.role}), ${p.window}</summary>\n\n${formatProfileSummary(s)}\n</details>\n`;
    }),
  ];
}

export function writeQueueDoc(path: string, r: QueueRunResult): void {
  const m = r.machine;
  const o = r.options;
  const doc = [
    '# Queue layer benchmark',
    '',
    `Generated by \`npm run bench:queue\` (bench/queue.ts) on ${r.finishedAt}. Raw numbers: \`bench/results/queue-latest.json\`. ` +
      'How to run: [bench/README.md](../../bench/README.md).',
    '',
    "Direct mode (`JobQueue.enabled: false`: the in-process scheduler runs a request's upstream call in the process that " +
      "took it) against queue mode (`JobQueue.enabled: true` with Redis: the call is a BullMQ job on its class' queue, run " +
      'by a worker — the same process with `role: all`, or a separate `worker` process — and its events come back to the ' +
      'process holding the client through a Redis Stream).',
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores (\`os.cpus()\`: ${[...new Set(m.cpus)].join('; ')}) — the harness (load generator), ` +
      'the fakes, redis-server and the gateways share them',
    `- memory ${m.memoryGb} GB, ${m.kernel}, Node.js ${m.node}, redis-server from PATH`,
    `- options: \`${JSON.stringify(o)}\`; code: ${r.commit ? `commit ${r.commit}` : 'not recorded'}`,
    '',
    '## Targets',
    '',
    targetsTable(evaluateQueueTargets(r)),
    '',
    ...(r.notes.length > 0 ? ['Notes on this run:', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
    '## Missed targets',
    '',
    ...missedWhy(r),
    '',
    '## Product issues found',
    '',
    ...productIssues(r),
    '',
    '## Fixed since the first runs',
    '',
    ...fixedSection(r),
    '',
    '## Other findings',
    '',
    ...otherFindings(r),
    '',
    '## Method',
    '',
    method(r),
    '',
    '## Results',
    '',
    `### 1. ${o.concurrency} concurrent streaming requests`,
    '',
    r.bursts.length > 0 ? burstTable(r) : 'not measured in this run',
    '',
    `Targets: every request succeeds; peak RSS < ${RSS_TARGET_MB} MB and event-loop lag p99 < ${LAG_TARGET_MS} ms per gateway process.`,
    '',
    ...(r.bursts.length > 0
      ? [
          '| target | TTFB p50 per tenth of the send order, ms | harness: time to issue all requests ms | harness event-loop lag p99 / max ms | warm-up errors |',
          '|---|---|---:|---:|---:|',
          ...r.bursts.map(
            (b) =>
              `| ${TARGET_LABEL[b.target]} | ${b.ttfbByDecile.map(f0).join(' / ')} | ${fmtMs(b.sendSpreadMs)} | ${fmtMs(b.clientLagP99Ms)} / ${fmtMs(b.clientLagMaxMs)} | ${b.warmupErrors} |`,
          ),
          '',
          'Worst event-loop lag of each 250 ms slice of the burst window (ms), per gateway process:',
          '',
          ...r.bursts.flatMap((b) => b.procs.map((p) => `- ${TARGET_LABEL[b.target]} (${p.role}): ${p.lagTimeline.map((x) => Math.round(x)).join(' ')}`)),
          '',
        ]
      : []),
    '### 2. Added latency (non-stream, closed loop, fast fake)',
    '',
    r.latency.length > 0 ? latencyTable(r) : 'not measured in this run',
    '',
    `Target: queue − direct p50 ≤ ${ADDED_TARGET_MS} ms. Other load during the phase (cores): ` +
      `${Object.entries(r.latencyOtherLoad).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || '–'}.`,
    '',
    '### 3. Priority inversion',
    '',
    r.priority.length > 0 ? priorityTable(r) : 'not measured in this run',
    '',
    '### Leak indicators',
    '',
    r.leaks.length > 0 ? leakTable(r) : 'not measured in this run',
    '',
    ...(r.stress ?? []).flatMap((st) => [
      `### Under CPU stress (\`--stress-cores ${st.cores}\`, ${st.at}, ${codeOf(st.commit)})`,
      '',
      `The same burst with ${st.cores} busy-loop process(es) on the box (their CPU shows as other load); a diagnostic run, only these rows are kept from it.`,
      '',
      burstTable({ ...r, bursts: st.bursts }),
      '',
      ...st.bursts.filter((b) => b.errors > 0).map((b) => `- ${TARGET_LABEL[b.target]}: ${burstErrors(b)}`),
      '',
    ]),
    '## CPU profiles',
    '',
    ...profileOverview(r),
    '',
    '## Reproduce',
    '',
    '```bash',
    'npm run bench:queue                                         # build, then every phase and mode (~2.5 min on 2 cores)',
    'npx tsx bench/queue.ts --topology all --phases burst        # skips the build; queue mode as one process, one phase',
    'npx tsx bench/queue.ts --concurrency 2000 --phases burst',
    'npx tsx bench/queue.ts --cpu-prof --phases burst,latency    # profiles per gateway process, added to the JSON and this doc',
    'npx tsx bench/queue.ts --stress-cores 1 --phases burst      # the bursts with one core taken by a busy loop, added likewise',
    'npx tsx bench/queue.ts --help',
    '```',
    '',
  ].join('\n');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, doc);
}
