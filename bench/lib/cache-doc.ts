/** docs/benchmarks/cache.md, generated from a CacheRunResult by bench/cache.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  classTable,
  coalesceLine,
  evaluateCacheTargets,
  hitTable,
  phaseTable,
  workloadTable,
  type CacheRunResult,
} from './cache-report';
import { fmtMs } from './open-loop';
import { targetsTable } from './report';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** P(X < x) for the fake's log-normal first byte (median m, p95 p). */
function lognormalCdf(x: number, m: number, p95: number): number {
  const sigma = Math.log(p95 / m) / 1.6449;
  const z = (Math.log(x) - Math.log(m)) / sigma;
  // Abramowitz-Stegun 7.1.26 for erf.
  const t = 1 / (1 + 0.3275911 * (Math.abs(z) / Math.SQRT2));
  const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-(z * z) / 2);
  return 0.5 * (1 + Math.sign(z) * erf);
}

function analysis(r: CacheRunResult): string[] {
  const out: string[] = [];
  const on = r.phases.find((p) => p.name === 'on');
  const off = r.phases.find((p) => p.name === 'off');
  const [med, p95] = (typeof r.options.profile === 'string' ? r.options.profile : '800,1200').split(',').map(Number);
  if (on && off) {
    const up = on.byClass.upstream?.n ?? 0;
    const upShare = up / Math.max(1, on.ok);
    const fast = lognormalCdf(500, med, p95);
    out.push(
      `- **p95 with the cache on.** ${up} of ${on.ok} answers (${pct(upShare)}) still needed an upstream call ` +
        `(first occurrences: the workload has ${pct(1 - r.workload.repeatShare)} distinct requests). The fake's first byte alone ` +
        `is under 500 ms for only ${pct(fast)} of calls (log-normal, median ${med} ms, p95 ${p95} ms), so the 95th percentile ` +
        `of all requests falls among the upstream calls unless more than ~95% of requests are served without one: ` +
        `p95 < 500 ms is out of reach for any cache on a workload with ${pct(r.workload.repeatShare)} repeats — what the cache ` +
        `changes is the share of fast answers (p50 ${fmtMs(off.total.p50)} → ${fmtMs(on.total.p50)} ms) and the upstream bill ` +
        `(${off.upstreamCalls} → ${on.upstreamCalls} calls). Answers from the cache: p99 ${fmtMs(on.byClass.HIT?.p99 ?? NaN)} ms; ` +
        `coalesced followers wait for their leader (p50 ${fmtMs(on.byClass['coalesced (follower)']?.p50 ?? NaN)} ms).`,
    );
    const accounted = on.upstreamCalls + on.savedByCache + on.savedByCoalescing;
    out.push(
      `- **Accounting.** requests sent ${on.sent} = upstream calls ${on.upstreamCalls} + HIT ${on.savedByCache} + followers ` +
        `${on.savedByCoalescing}${accounted === on.sent ? ' (exact)' : ` → ${accounted}: a difference of ${accounted - on.sent} (requests answered twice or not counted)`}. ` +
        `Hit rate by the gateway's own counters ${on.cacheStats ? pct(on.cacheStats.hitRate) : '–'} ` +
        `(${on.cacheStats?.hits ?? '–'} hits / ${on.cacheStats?.misses ?? '–'} misses; a coalesced follower is a miss), ` +
        `by \`x-switchyard-cache: HIT\` headers ${pct(on.headers.hit / Math.max(1, on.sent))}.`,
    );
  }
  if (on && off) {
    out.push(
      `- **CPU.** The gateway used ${Math.round(on.gatewayCpuUsPerReq).toLocaleString('en-US')} µs of CPU per request with the ` +
        `cache on vs ${Math.round(off.gatewayCpuUsPerReq).toLocaleString('en-US')} µs with it off ` +
        `(${pct(on.gatewayCpuUsPerReq / Math.max(1, off.gatewayCpuUsPerReq))}), although ${pct(1 - on.upstreamCalls / Math.max(1, off.upstreamCalls))} ` +
        'fewer upstream calls were made: a hit still parses, validates, routes (token count) and hashes the whole ' +
        '~75 KB Claude Code body and decompresses the stored entry, and a miss now also records, compresses and ' +
        'stores its answer (memory + Redis) — the hit cells below put one hit at ' +
        `${r.hitCells.map((c) => Math.round(c.cpuUsPerReq).toLocaleString('en-US')).join(' / ')} µs.`,
    );
  }
  const c64 = r.hitCells.filter((c) => c.concurrency === 64);
  if (c64.length > 0) {
    const best = Math.max(...c64.map((c) => c.rps));
    const c1 = r.hitCells.find((c) => c.concurrency === 1);
    out.push(
      `- **Cache-hit p99 at c=64.** autocannon is a closed loop: 64 requests are always in flight, so the mean latency is ` +
        `64 ÷ throughput (Little's law). A p99 of 3 ms needs at least 64 / 0.003 ≈ 21,300 hits/s; this box served at most ` +
        `${Math.round(best).toLocaleString('en-US')}/s (2 cores shared by the load generator and the gateway; the overhead ` +
        `benchmark's bare \`node:http\` server that only parses a 1 KB body reaches ~3,100 req/s at c=64 here). ` +
        (c1 ? `One hit alone (c=1) takes p50 ${fmtMs(c1.p50)} ms, p99 ${fmtMs(c1.p99)} ms. ` : '') +
        `Each hit costs the gateway ${c64.map((c) => `${Math.round(c.cpuUsPerReq).toLocaleString('en-US')} µs (${c.body}, ${c.stream ? 'stream' : 'non-stream'})`).join(', ')} ` +
        `of CPU at c=64, so one core cannot serve more than ~${Math.round(1e6 / Math.min(...c64.map((c) => c.cpuUsPerReq))).toLocaleString('en-US')} hits/s even of the smallest: at c=64 the number ` +
        'measures queueing behind that CPU cost on two shared cores, not the latency of one hit.',
    );
  }
  return out;
}

const method = (r: CacheRunResult) => `- **Processes.** One fake provider (\`scripts/fake-provider.ts\`: ${r.fakeProfile}), one throwaway
  \`redis-server\` (free port, no persistence), and the gateway from the build (\`node dist/main.js\`,
  \`NODE_ENV=production\`, \`LOG_LEVEL=warn\`, \`REDIS_URL\` = that Redis) with one OpenAI-kind provider on the fake and
  every Router slot on it. Two gateway processes, one after the other, identical except for
  \`Cache.enabled\` / \`Dedup.enabled\` (both \`false\`, then both \`true\`); Redis is flushed before each.
- **Load.** The same schedule for both runs, sent open-loop: one request every ${fmtMs(1000 / Number(r.options.rate))} ms
  (${r.options.rate} req/s) for ${r.options.durationS} s by an undici client with unlimited connections, whether or not
  earlier answers have arrived. Latency is measured from each request's **scheduled** send time to the end of its
  answer (stream: the last SSE byte), so neither slow answers nor a late harness hide (max harness lateness in
  the JSON). Every answer is checked (200, a complete SSE stream ending with \`message_stop\` and no \`error\` event,
  or a JSON \`message\`); anything else is an error.
- **Counting.** Upstream calls = the fake's \`/v1/chat/completions\` counter (\`GET /__fake/stats\`) before and after the
  run. Saved by the cache = answers with \`x-switchyard-cache: HIT\`; saved by coalescing = answers with
  \`x-switchyard-dedup: follower\`. Hit rate = hits ÷ (hits + misses) from \`GET /api/cache/stats\` (delta over the run).
- **Cache hits under load.** After the runs, on the cache-on gateway: one request is sent (stored), the next must
  answer \`HIT\`, then autocannon (closed loop) sends it for ${r.options.hitDurationS} s after a 1 s warm-up.
- **A shared box.** Before each measurement the harness waits (up to \`--quiet-wait\` s) for other processes to go
  quiet, and reports the CPU other processes used during it ("other load", cores of ${r.machine.cores}).
- **Coalescing.** 100 identical requests never seen before (the 75 KB Claude Code body, 50 streamed, 50 not) sent at
  the same instant; the fake's counter must move by exactly 1.`;

const workloadText = `Sessions of Claude Code traffic (\`bench/lib/cache-workload.ts\`; deterministic for a given \`--seed\`).
Each slot of the fixed-rate schedule sends a repeat that is due, otherwise the next original request of one of
the active sessions. A session: a startup quota check (a \`max_tokens: 1\` haiku request, identical in every
session), then 3–7 turns, each a **main request** — the real ~75 KB Claude Code request
(\`test/fixtures/claude-code/say-hi.json\` \`.body\`: system prompt, 24 tools, thinking) carrying this session's
conversation so far and a new user prompt, streamed, with Claude Code's headers and a per-session \`metadata.user_id\`
(not part of the cache key) — and a **background haiku task** (topic / title detection of that prompt, non-stream).
Repeats, as Claude Code produces them:

- a main request is duplicated while still in flight with p = 0.2 (0.15–0.6 s later: Claude Code's retry of a
  request it gave up on, a parallel sub-agent) and re-sent 0–3 times (mean 1.8) 3–30 s later (Esc + retry, a
  resumed session, a re-run command);
- a background task is duplicated in flight with p = 0.15 and re-run 2–4 times 2–30 s later (title / topic
  detection re-run on resume, compact and new windows);
- half of the first prompts come from a pool of 8 common ones (identical first turns across sessions).`;

export function writeCacheDoc(path: string, r: CacheRunResult): void {
  const m = r.machine;
  const doc = [
    '# Cache and coalescing benchmark',
    '',
    `Generated by \`npm run bench:cache\` (bench/cache.ts) on ${r.finishedAt}. Raw numbers: ` +
      '`bench/results/cache-latest.json`. How to run: [bench/README.md](../../bench/README.md). ' +
      'Design: [caching.md](../caching.md), [dedup.md](../dedup.md).',
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores shared by the load generator, the fake provider, Redis and the gateway; ` +
      `${m.memoryGb} GB, ${m.kernel}, Node.js ${m.node}. Options: \`${JSON.stringify(r.options)}\`.`,
    '',
    '## Targets',
    '',
    targetsTable(evaluateCacheTargets(r)),
    '',
    '## What the numbers say',
    '',
    ...analysis(r),
    ...(r.notes.length > 0 ? ['', 'Notes on this run:', '', ...r.notes.map((n) => `- ${n}`)] : []),
    '',
    '## Workload',
    '',
    workloadText,
    '',
    workloadTable(r.workload),
    '',
    '## Cache and coalescing off vs on (same schedule)',
    '',
    phaseTable(r.phases),
    '',
    'By how each answer was produced (`x-switchyard-cache` / `x-switchyard-dedup`) and by request kind:',
    '',
    classTable(r.phases),
    '',
    '## Cache hits under load',
    '',
    hitTable(r.hitCells),
    '',
    '## 100 identical concurrent requests',
    '',
    coalesceLine(r.coalesce),
    '',
    '## Method',
    '',
    method(r),
    '',
  ].join('\n');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, doc);
}
