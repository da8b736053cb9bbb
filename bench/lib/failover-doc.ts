/** docs/benchmarks/failover.md, generated from a FailoverRunResult by bench/failover.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { baselineOf, detailTable, evaluateFailoverTargets, scenarioTable, type FailoverRunResult } from './failover-report';
import { fmtMs } from './open-loop';
import { targetsTable } from './report';

function why(r: FailoverRunResult): string[] {
  const out: string[] = [];
  const fb = Number(r.options.firstByteMs);
  const base = baselineOf(r);
  const s = (n: string) => r.scenarios.find((x) => x.name === n);
  const refused = s('refused');
  if (refused) {
    out.push(
      `- **Refused.** ${refused.errors.total} client-visible error(s)` +
        (refused.errors.inFlightAtOnset === 0
          ? ' — a plain-text stream that the stopped process cut mid-answer continues on the backup (`Failover.resume`, ' +
            'opt-in, on in this benchmark: docs/failover.md#stream-resume) instead of ending with an `error` event'
          : '') +
        (refused.errors.inFlightAtOnset > 0
          ? `, ${refused.errors.inFlightAtOnset} of them on requests already in flight when the primary's process stopped: ` +
            'an answer whose first event had already reached the client is resumed on the backup when it is plain text ' +
            '(`Failover.resume`, docs/failover.md#stream-resume); these were not (a tool call or thinking had started, ' +
            'or resume is off) and ended with an `error` event. '
          : '. ') +
        `Requests sent after the onset: ${refused.errors.afterOnset} error(s). Breaker ` +
        (refused.breakerOpenAfterMs === null ? 'never seen open.' : `seen open ${fmtMs(refused.breakerOpenAfterMs)} ms after the onset.`),
    );
  }
  const s503 = s('status503');
  if (s503) {
    out.push(
      `- **503.** Each 503 fails over at once to the backup (no sleeping): the first request after the onset got its first ` +
        `byte after ${fmtMs(s503.firstAfterOnset?.ttfbMs ?? NaN)} ms (served by ${s503.firstAfterOnset?.target ?? '?'}); the breaker ` +
        (s503.breakerOpenAfterMs === null ? 'was never seen open.' : `was seen open ${fmtMs(s503.breakerOpenAfterMs)} ms after the onset.`),
    );
  }
  const hang = s('hang');
  if (hang) {
    const dl = hang.firstByteDeadline;
    const dlText = dl ? `${fmtMs(dl.ms)} ms at the onset by \`GET /api/timeouts\` (${dl.source})` : `${fb} ms`;
    out.push(
      `- **Hang.** A hanging primary returns nothing to count as a failure until a deadline fires (the first-byte ` +
        `deadline, ${dlText}: p99 TTFB × k clamped to \`firstByte.minMs\` = ${fb} ms, plus 0.01 ms per input token). ` +
        'The breaker does not wait for that: its slow-call trip (`Failover.breaker.slowCalls`, docs/failover.md) opens it ' +
        'at the next admission once `minCalls` attempts have each waited past the slow-call threshold (learned p99 TTFB × ' +
        '`k`, at least `minMs` = 500 ms) with no first byte from the target meanwhile — seen open ' +
        `${hang.breakerOpenAfterMs === null ? 'never' : `${fmtMs(hang.breakerOpenAfterMs)} ms`} after the onset: from then on ` +
        'new requests skip the primary, while the attempts already waiting on it keep their own first-byte deadline (a ' +
        'wrong trip loses nothing in flight) and fail over when it fires. ' +
        `Worst first byte after the onset: ${fmtMs(hang.worstTtfb.stream)} ms streamed, ${fmtMs(hang.worstTtfb.nonStream)} ms ` +
        'non-stream — the first-byte deadline plus the backup\'s answer plus queueing in the gateway (requests sent once the ' +
        `breaker was open waited p95 ${hang.afterOpen ? fmtMs(hang.afterOpen.total.p95) : '–'} ms); gateway CPU ` +
        `${hang.gatewayCoresFailingOver ? `${hang.gatewayCoresFailingOver.toFixed(2)} cores then vs ${hang.gatewayCores.toFixed(2)} on average` : 'not measured'}. ` +
        (hang.worstTtfb.nonStream > 5000
          ? 'Non-stream requests have **no separate first-byte deadline** (their first event is the whole answer), so a ' +
            'non-stream request sent to the hanging primary before its breaker opened waits for the total deadline ' +
            '(`AdaptiveTimeout.baseTimeout` 30 s + the first-byte deadline + `max_tokens` at `minTokensPerSecond`, capped by `API_TIMEOUT_MS`) before failing over. '
          : 'Non-stream requests fail over like streamed ones: with `Failover.streamUpstream` (default true) the gateway ' +
            'calls the upstream in streaming mode for them too, so the same deadlines and trip apply. ') +
        'Half-open probes on the still-hanging primary are single attempts (nothing to pile up): each is given up at ' +
        'the slow-call threshold too, so its client does not wait for the whole first-byte deadline.',
    );
  }
  if (base) {
    out.push(
      `- **Once the breaker is open** requests skip the primary without a call; what is added is measured from the first ` +
        `poll that saw it open to the end of the run, against the healthy run (p50 ${fmtMs(base.all.total.p50)} ms, p99 ` +
        `${fmtMs(base.all.total.p99)} ms). The window includes the breaker's half-open probes (one request each, ` +
        'every `openMs` × 2^(level−1)), which pay the failure again. Negative differences are run-to-run noise: ' +
        'the healthy run is a different gateway process a minute earlier.',
    );
  }
  return out;
}

function method(r: FailoverRunResult): string {
  const o = r.options;
  return `- **Processes.** Two fake providers, each in its own process (\`scripts/fake-provider.ts\`, ${r.fake}):
  \`primary\` and \`backup\`. A fresh gateway per scenario (\`node dist/main.js\`, \`NODE_ENV=production\`,
  \`LOG_LEVEL=warn\`, no Redis: breakers, scores and timeout history in memory), so no scenario inherits another's
  breaker state or history. Both fakes are reset (\`POST /__fake/reset\`) before each scenario; the primary is
  restarted if a scenario stopped it.
- **Load.** Open loop: ${o.rate} req/s at fixed intervals (every other request streamed), small unique Anthropic
  Messages bodies (~200 bytes, so neither the cache nor coalescing — both off — can hide a failure), sent by an undici
  client with unlimited connections whether or not earlier answers arrived. Latency is measured from each request's
  scheduled send time; first byte = first body chunk. Every answer is checked (200 and a complete SSE stream with
  \`message_stop\` and no \`error\` event, or a JSON message); anything else is a client-visible error.
- **Scenario timeline.** ${o.warmupS} s warm-up at the same rate (not measured; it gives the adaptive timeouts their
  history), then ${o.preS} s healthy, then the **onset** and ${o.failS} s of failure; then the harness waits for every
  answer. Onsets: *refused* — SIGTERM to the primary's process (its port then refuses connections; the process
  closes its open sockets as it exits); *503* — \`POST /__fake/configure {"fault":{"type":"status","status":503}}\`;
  *hang* — \`POST /__fake/configure {"fault":{"type":"hang"}}\` (accept, never send headers).
- **A shared box.** Before each scenario the harness waits (up to \`--quiet-wait\` s) for other processes to go
  quiet; the CPU the gateway and other processes used during the run is in the table (cores).
- **Breaker.** \`GET /api/providers\` polled every 100 ms during the run; the time the primary's circuit was first seen
  \`open\` (resolution ~100 ms).
- **Per scenario:** errors (split into requests sent after the onset and requests already in flight at it), latency of
  requests sent after the onset and of requests sent once the breaker was seen open, both also as the difference to
  the healthy run's percentiles (added), the first request after the onset (its first byte and which target served
  it), the time from the onset to the first byte the backup served, the worst first byte after the onset, and the
  upstream calls each fake counted.`;
}

export function writeFailoverDoc(path: string, r: FailoverRunResult): void {
  const m = r.machine;
  const doc = [
    '# Failover benchmark',
    '',
    `Generated by \`npm run bench:failover\` (bench/failover.ts) on ${r.finishedAt}. Raw numbers: ` +
      '`bench/results/failover-latest.json`. How to run: [bench/README.md](../../bench/README.md). ' +
      'Behaviour and configuration: [failover.md](../failover.md).',
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores shared by the load generator, both fakes and the gateway; ` +
      `${m.memoryGb} GB, ${m.kernel}, Node.js ${m.node}. Options: \`${JSON.stringify(r.options)}\`.`,
    '',
    '## Targets',
    '',
    targetsTable(evaluateFailoverTargets(r)),
    '',
    '## Why',
    '',
    ...why(r),
    ...(r.notes.length > 0 ? ['', 'Notes on this run:', '', ...r.notes.map((n) => `- ${n}`)] : []),
    '',
    '## Scenarios',
    '',
    scenarioTable(r),
    '',
    detailTable(r),
    '',
    '## Configuration used',
    '',
    'The gateway config of the run (ports vary). Everything not listed is the default of `config/default.json` ' +
      '(`Failover.maxRetries` 2, breaker ≥ 50% of ≥ 5 requests in 30 s or 5 consecutive failures, `openMs` 5000, ' +
      `\`AdaptiveTimeout.baseTimeout\` 30000, \`minSamples\` 20). \`Failover.timeout\` and \`AdaptiveTimeout.firstByte.minMs\` ` +
      `are ${String(r.options.firstByteMs)} ms (\`--first-byte-ms\`): the fake answers in ~20–60 ms, so the learned ` +
      'deadline (p99 TTFB × 4) is below that floor and the floor decides (the deadline in force at each onset, read ' +
      'from `GET /api/timeouts`, is in the second table). The default `Failover.timeout` of 5000 ms applies only ' +
      'while a target has fewer than `minSamples` TTFB samples.',
    '',
    '```json',
    JSON.stringify(r.config, null, 2),
    '```',
    '',
    '## Method',
    '',
    method(r),
    '',
  ].join('\n');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, doc);
}
