/** docs/benchmarks/queue.md, generated from a QueueRunResult by bench/queue.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatProfileSummary } from '../profile-summary';
import { fmtMs } from './open-loop';
import {
  added,
  ADDED_TARGET_MS,
  burstTable,
  evaluateQueueTargets,
  LAG_TARGET_MS,
  latencyTable,
  priorityTable,
  RSS_TARGET_MB,
  TARGET_LABEL,
  targetsTable,
  type QueueRunResult,
} from './queue-report';

function method(r: QueueRunResult): string {
  const o = r.options;
  const modes = r.modes.map((m) => `\`${m}\` (${TARGET_LABEL[m]})`).join(', ');
  return `- **Processes.** A private \`redis-server\` (free port, bound to 127.0.0.1, no persistence, stopped at the end);
  two fake providers in their own processes (\`scripts/fake-provider.ts\`): \`fake\` for the load phases and
  \`limited\` for the priority test (request bodies kept, \`JobQueue.providerConcurrency: {limited: ${o.providerLimit}}\`);
  the gateway processes (\`node dist/main.js\`, \`NODE_ENV=production\`, \`LOG_LEVEL=warn\`), one group per mode,
  all started at the beginning and idle while another mode is measured: ${modes}. Each group has its own
  \`Redis.keyPrefix\` on the shared redis-server, so no gateway sees another's queues, slots or keys; \`queue\` and
  \`queue-split\` are checked to report \`mode: "bullmq"\` on \`GET /api/queue\` (the others \`"local"\`) before anything
  is measured. The load comes from the harness process (undici), never from a gateway process.
- **Config** (the \`queue\` mode's is in the JSON under \`config\`; the other modes differ only in \`JobQueue.enabled\` and
  \`Redis\`): \`Cache.enabled\` and \`Dedup.enabled\` false (every request reaches the worker),
  \`JobQueue.queues.interactive.concurrency\` max(1,024, N), \`maxWaitMs\` 300 s (background 600 s), scheduled cluster jobs
  off, provider health checks off. The \`fake\` provider's upstream pool is pinned to N + 64 connections
  (\`Providers[].pool.connections\`): every stream holds a socket for its whole answer, and with the default elastic pool
  (\`Pools.maxConnections\` 256) requests beyond 256 would wait in undici's queue in *every* mode — a sizing setting,
  not the queue layer.
- **Event-loop lag** of each gateway process: \`bench/lib/queue-lag-preload.cjs\` is loaded with
  \`NODE_OPTIONS=--require …\` (no product code changed) and runs \`perf_hooks.monitorEventLoopDelay\` (10 ms
  resolution). The harness sends SIGUSR2 right before and right after a measurement; at each signal the preload
  writes the statistics of the window since the previous one. Lag = sample − 10 ms (the histogram records the time
  between two firings of a 10 ms timer: idle ≈ 0.1 ms, a 40 ms block ≈ 32 ms). p99 is over the ~100 samples per second
  of the window.
- **RSS**: \`/proc/<pid>/status\` VmRSS every 100 ms during the burst (the peak is the target's number), VmHWM (peak since
  the process started) alongside. In the split topology both processes are measured and each must meet the targets.

### 1. Added latency of the queue

Small Anthropic Messages requests (~200 bytes, non-stream, one body repeated — the cache and coalescing are off), the
\`fake\` provider answering at once (${r.fake.fast}). Closed loop: c workers, each sending its next request when the
previous answer has been read completely, at c = ${o.latencyConcurrency}. Per target and concurrency: a warm-up
(100–300 requests, not measured), then ${o.latencyRequests} measured requests split in ${o.rounds} rounds, the targets
interleaved and their order rotated each round (so machine noise is spread over all of them). Targets: the fake's own
\`/v1/messages\` ("fake provider, direct": the floor, no conversion) and every gateway mode. **Added = p50 (p95) of a queue
mode − the same percentile of \`direct\`**: both have Redis on with the same features, so the difference is the queue layer
(\`queue.add\`, the worker's pick-up, the Redis Stream relay). \`direct, no Redis\` shows what the Redis-backed features of
the hot path cost by themselves.

### 2. ${o.concurrency} concurrent streaming requests

The \`fake\` provider streams ~2 s answers: ${r.fake.stream}. Per target: a warm-up burst of min(200, N) streams, wait
for the gateway to go idle (and up to \`--quiet-wait\` s for the machine), reset the fake's counters, SIGUSR2 (start of
the lag window), then **N streaming requests sent at once** (one undici Agent with a socket per request, all
\`request()\` calls issued in one synchronous loop), each read to its end and checked (ends with \`message_stop\`, no
\`error\` event), then SIGUSR2 (end of the window). TTFB = first body byte after t=0 (the moment the burst started),
total = end of the body after t=0. "At provider at once" is the fake's in-flight high-water mark: N means all the
requests really were upstream at the same time. CPU cores = the process' CPU time during the burst / its wall time.
"Other load" is CPU used by processes that are not ours (other sessions' builds and tests).

### 3. Priority inversion

The \`limited\` fake is behind \`JobQueue.providerConcurrency: {limited: ${o.providerLimit}}\` (the cluster-wide provider
slots: a Redis semaphore with a priority-ordered line when Redis is up, an in-process priority semaphore without Redis).
${2 * Number(o.providerLimit)} background "fillers" (\`x-switchyard-priority: background\`, each holding the provider 1.5 s)
are sent first; once ${o.providerLimit} of them are at the provider (the fake's counter), and 300 ms later (the other
fillers are waiting in the line), **${o.priorityN} background and ${o.priorityN} interactive requests are sent interleaved**
(b0, i0, b1, i1, …, in one loop), each holding the provider 40 ms. Every request carries a tag in its user text; the fake's
request log (\`GET /__fake/requests\`, arrival order = its sequence number, arrival time = its clock) gives the order in which
they reached the provider. All requests run at the default class priorities (interactive 10, background 1).

**Definition.** A background request *b* is an **inversion** when there is an interactive request *i* that was sent to the
gateway at least ${o.graceMs} ms (the grace) before *b* reached the provider, and that reached the provider after *b*: *b* got
a provider slot while an interactive request already at the gateway was waiting. Excluded by construction: the
${o.providerLimit} fillers that reached the provider before any interactive request existed ("started before the line").
The grace excludes a background request granted while an interactive one was still on its way into the line (HTTP parsing,
routing, \`queue.add\`, the worker's pick-up — milliseconds); here the first slot frees ~1.2 s after the burst was sent, so
every interactive request is long in the line by then and the grace has no effect on a correct run. "strict" is the same
count with no grace. The arrival order column is run-length encoded: F = filler, B = background, I = interactive of the
burst, in the order they reached the provider (a correct run: ${o.providerLimit}F, then every I, then the remaining F and all B).`;
}

function findings(r: QueueRunResult): string[] {
  const out: string[] = [];
  const targets = evaluateQueueTargets(r);
  const missed = targets.filter((t) => t.met === false);
  if (missed.length === 0) {
    out.push('Every target was met in this run.');
  } else {
    out.push('Targets missed in this run:', '');
    for (const t of missed) {
      out.push(`- **${t.target}** — measured ${t.measured}.`);
    }
  }
  const split = r.bursts.find((b) => b.target === 'queue-split');
  const all = r.bursts.find((b) => b.target === 'queue');
  const direct = r.bursts.find((b) => b.target === 'direct');
  if (direct && all) {
    out.push(
      '',
      `Burst, direct vs queue (1 process): TTFB p50 ${fmtMs(direct.ttfb.p50)} vs ${fmtMs(all.ttfb.p50)} ms, p99 ${fmtMs(direct.ttfb.p99)} vs ` +
        `${fmtMs(all.ttfb.p99)} ms; gateway CPU during the burst ${direct.procs[0]?.cpuCores.toFixed(2)} vs ${all.procs[0]?.cpuCores.toFixed(2)} cores; ` +
        `peak RSS ${fmtMs(direct.procs[0]?.peakRssMb ?? NaN)} vs ${fmtMs(all.procs[0]?.peakRssMb ?? NaN)} MB.` +
        (split
          ? ` Split topology: api ${fmtMs(split.procs.find((p) => p.role === 'api')?.peakRssMb ?? NaN)} MB / worker ` +
            `${fmtMs(split.procs.find((p) => p.role === 'worker')?.peakRssMb ?? NaN)} MB peak RSS, TTFB p99 ${fmtMs(split.ttfb.p99)} ms.`
          : ''),
    );
  }
  for (const c of [...new Set(r.latency.map((x) => x.concurrency))]) {
    const a = added(r, 'queue', 'direct', c);
    const n = added(r, 'direct', 'direct-noredis', c);
    if (a) {
      out.push(
        '',
        `Added latency at c=${c}: queue − direct p50 ${a.p50.toFixed(2)} ms, p95 ${a.p95.toFixed(2)} ms` +
          (n ? `; direct (Redis on) − direct without Redis p50 ${n.p50.toFixed(2)} ms (what the Redis-backed hot-path features cost).` : '.'),
      );
    }
  }
  return out;
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
    'Direct mode (`JobQueue.enabled: false`: the in-process scheduler runs each request\'s upstream call in the process that ' +
      'took it) against queue mode (`JobQueue.enabled: true` with Redis: the call is a BullMQ job on the class\' queue, run ' +
      'by a worker — the same process with `role: all`, or a separate `worker` process — and its events are relayed back ' +
      'to the process holding the client through a Redis Stream).',
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores (\`os.cpus()\`: ${[...new Set(m.cpus)].join('; ')}) — the harness (load generator), ` +
      'the fakes, redis-server and the gateways share them',
    `- memory ${m.memoryGb} GB, ${m.kernel}, Node.js ${m.node}, redis-server from PATH`,
    `- options: \`${JSON.stringify(o)}\``,
    '',
    '## Targets',
    '',
    targetsTable(evaluateQueueTargets(r)),
    '',
    ...(r.notes.length > 0 ? ['Notes on this run:', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
    '## Findings',
    '',
    ...findings(r),
    '',
    '## Method',
    '',
    method(r),
    '',
    '## Results',
    '',
    '### 1. Added latency (non-stream, closed loop, fast fake)',
    '',
    r.latency.length > 0 ? latencyTable(r) : 'not measured in this run',
    '',
    `Other load during the latency phase (cores): ${Object.entries(r.latencyOtherLoad).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || '–'}.`,
    '',
    `### 2. ${o.concurrency} concurrent streaming requests`,
    '',
    r.bursts.length > 0 ? burstTable(r) : 'not measured in this run',
    '',
    'Targets: every request succeeds, peak RSS < ' + `${RSS_TARGET_MB} MB and event-loop lag p99 < ${LAG_TARGET_MS} ms per gateway process; ` +
      `queue − direct p50 ≤ ${ADDED_TARGET_MS} ms.`,
    '',
    ...(r.bursts.length > 0
      ? [
          '| target | harness: time to issue all requests ms | harness event-loop lag p99 / max ms | warm-up errors | errors |',
          '|---|---:|---:|---:|---|',
          ...r.bursts.map(
            (b) =>
              `| ${TARGET_LABEL[b.target]} | ${fmtMs(b.sendSpreadMs)} | ${fmtMs(b.clientLagP99Ms)} / ${fmtMs(b.clientLagMaxMs)} | ${b.warmupErrors} | ` +
              `${b.errors === 0 ? '0' : Object.entries(b.errorKinds).map(([k, v]) => `${v} × ${k}`).join('; ')} |`,
          ),
          '',
          'Worst event-loop lag per 250 ms slice of the burst window (ms), per gateway process:',
          '',
          ...r.bursts.flatMap((b) => b.procs.map((p) => `- ${TARGET_LABEL[b.target]} (${p.role}): ${p.lagTimeline.map((x) => Math.round(x)).join(' ')}`)),
          '',
        ]
      : []),
    '### 3. Priority inversion',
    '',
    r.priority.length > 0 ? priorityTable(r) : 'not measured in this run',
    '',
    '## CPU profile',
    '',
    r.profiles && r.profiles.length > 0
      ? `From a \`--cpu-prof\` run at ${r.profiledAt ?? '?'} (the profiler slows the process: its own numbers are not in the tables above). ` +
        'Each profile covers the burst window of one gateway process (inspector profiler started and stopped by the preload at the marks); ' +
        'percentages are of busy (non-idle) samples.\n\n' +
        r.profiles.map((p) => `### ${p.summary.cell ?? `${p.target} ${p.role}`}\n\n${formatProfileSummary(p.summary)}`).join('\n\n')
      : 'No profile: `npx tsx bench/queue.ts --cpu-prof --phases burst` adds one (per gateway process, burst window only).',
    '',
    '## Reproduce',
    '',
    '```bash',
    'npm run bench:queue                                   # build, then every phase and mode (~3 min on 2 cores)',
    'npx tsx bench/queue.ts --topology all --phases burst  # skips the build; one phase, queue mode as one process',
    'npx tsx bench/queue.ts --concurrency 2000 --phases burst',
    'npx tsx bench/queue.ts --cpu-prof --phases burst      # profiles of the gateways during the bursts, added to the doc',
    'npx tsx bench/queue.ts --help',
    '```',
    '',
  ].join('\n');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, doc);
}
