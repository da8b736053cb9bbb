/**
 * failover: a steady open-loop rate through a gateway whose Router slots are ["primary,m", "backup,m"], with the
 * primary failing three ways (connection refused, 503, hang) after a healthy stretch; analysis and tables from
 * bench/lib/failover-report.ts (bench:failover's).
 */
import { readFileSync } from 'node:fs';
import {
  analyseScenario,
  detailTable,
  evaluateFailoverTargets,
  scenarioTable,
  type BreakerEvent,
  type FailoverRunResult,
  type ScenarioName,
} from '../../lib/failover-report';
import { fakeConfigure, fakeReset, getJson, startFakeWith } from '../../lib/gateway';
import { fixedRate, fmtMs, stats, type Sample } from '../../lib/open-loop';
import * as px from '../../lib/processes';
import { gatewayConfig, MODEL, type Service, type SuiteCtx } from '../context';
import type { ScenarioDef, ScenarioOutput } from '../scenario';
import { memoryChart, Timeline } from '../timeline';
import type { Target } from '../types';

const PARAMS = {
  smoke: { rate: 40, preS: 1.5, failS: 5, warmS: 1 },
  short: { rate: 200, preS: 3, failS: 11, warmS: 3 },
  long: { rate: 200, preS: 5, failS: 25, warmS: 5 },
};
const MODES: ScenarioName[] = ['healthy', 'refused', 'status503', 'hang'];
const FIRST_BYTE_MS = 1500;
const FAKE_ARGS = ['--profile', '20,40', '--chunks', '4', '--gap-ms', '5'];
const PRIMARY = `primary,${MODEL}`;

function schedule(rate: number, seconds: number, tag: string) {
  return fixedRate(rate, seconds, (i) => {
    const stream = i % 2 === 0;
    const body = JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      stream,
      system: 'You are a concise assistant.',
      messages: [{ role: 'user', content: `${tag} request ${i}: say hello in one short sentence.` }],
    });
    return {
      path: '/v1/messages',
      body,
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      stream,
      tag,
      id: `${tag}:${i}`,
    };
  });
}

const WHY: Record<string, string> = {
  errors:
    'the requests that fail are the ones already streaming from the primary when its process stopped that stream resume (on in this scenario) could not continue: an answer whose first event has reached the client moves to another target only as a resumed plain-text stream (docs/failover.md#stream-resume); otherwise it ends with an `error` event',
  hang: `a hanging primary trips its breaker on slow calls (Failover.breaker.slowCalls), while the attempts already waiting on it keep their first-byte deadline (${FIRST_BYTE_MS} ms here) and then fail over, the gateway busy failing them over`,
  open: "the window after the breaker opened still contains the attempts started before it opened (they time out or fail and move to the backup, sharing the gateway's CPU) and the breaker's half-open probes, which pay the failure again",
  breaker:
    'the slow-call trip needs `minCalls` attempts each past the slow-call threshold (at least `minMs`, 500 ms by default) with the gateway\'s own event loop keeping up; a saturated gateway makes no trip',
};

function why(t: string): string | undefined {
  if (t.includes('0 client-visible errors') || t.includes('0 errors on requests')) {
    return WHY.errors;
  }
  if (t.includes('failover < 2 s')) {
    return WHY.hang;
  }
  if (t.includes('once the breaker is open')) {
    return WHY.open;
  }
  if (t.includes('breaker opens within')) {
    return WHY.breaker;
  }
  return undefined;
}

interface Fakes {
  primary: Service;
  backup: Service;
}

async function one(
  ctx: SuiteCtx,
  tl: Timeline,
  name: ScenarioName,
  fakes: Fakes,
  redisUrl: string,
  flush: () => Promise<void>,
): Promise<FailoverRunResult['scenarios'][number]> {
  const p = PARAMS[ctx.mode];
  if (!fakes.primary.child.alive) {
    fakes.primary.child = ctx.track(
      await startFakeWith(ctx.svc, 'fake primary', fakes.primary.port, FAKE_ARGS),
    );
  }
  await Promise.all([fakeReset(fakes.primary.origin), fakeReset(fakes.backup.origin), flush()]);
  const config = gatewayConfig(
    [
      { name: 'primary', port: fakes.primary.port },
      { name: 'backup', port: fakes.backup.port },
    ],
    {
      Cache: { enabled: false },
      Dedup: { enabled: false },
      // Stream resume is opt-in: on here, so a stream cut when the primary dies continues on the backup.
      Failover: { timeout: FIRST_BYTE_MS, resume: { enabled: true, maxResumes: 1 } },
      AdaptiveTimeout: { firstByte: { k: 4, minMs: FIRST_BYTE_MS, maxMs: 60000, perInputTokenMs: 0.01 } },
    },
    [PRIMARY, `backup,${MODEL}`],
  );
  const gw = await ctx.gateway(name, config, { REDIS_URL: redisUrl });
  const warm = await tl.send(null, gw.origin, schedule(p.rate, p.warmS, `warm-${name}`));
  await px.waitIdle(gw.child.pid);
  await ctx.quiet();
  const before = {
    primary: (await ctx.fakeStats(fakes.primary.origin)).openai,
    backup: (await ctx.fakeStats(fakes.backup.origin)).openai,
  };
  const breaker: BreakerEvent[] = [];
  const t0 = performance.now() + 20;
  const onsetMs = p.preS * 1000;
  let polling = true;
  const poller = (async () => {
    let last = '';
    while (polling) {
      const at = performance.now() - t0;
      try {
        const view = await getJson<{ targets: { target: string; circuit: { state: string } }[] }>(
          `${gw.origin}/api/providers`,
          2000,
        );
        const state = view.targets.find((t) => t.target === PRIMARY)?.circuit.state ?? '?';
        if (state !== last) {
          breaker.push({ atMs: at, state });
          last = state;
        }
      } catch (err) {
        breaker.push({ atMs: at, state: `poll failed: ${(err as Error).message}` });
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - t0 - at))));
    }
  })();
  const meter = ctx.meter();
  const gwCpu0 = px.cpuMicros(gw.child.pid);
  const running = tl.send(
    name,
    gw.origin,
    schedule(p.rate, p.preS + p.failS, name),
    { timeoutMs: 60_000 },
    t0 - performance.now(),
  );
  let onsetActionMs = NaN;
  let primaryAtStop = NaN;
  let deadline: { firstByteMs: number; firstByteSource: string; ttfb?: { p99?: number | null } } | null =
    null;
  await new Promise((r) => setTimeout(r, Math.max(0, t0 + onsetMs - performance.now())));
  deadline = await getJson<{
    targets: {
      target: string;
      firstByteMs: number;
      firstByteSource: string;
      ttfb?: { p99?: number | null };
    }[];
  }>(`${gw.origin}/api/timeouts`, 2000)
    .then((v) => v.targets.find((t) => t.target === PRIMARY) ?? null)
    .catch(() => null);
  const a = performance.now();
  if (name !== 'healthy') {
    tl.mark(`${name} onset`);
  }
  if (name === 'refused') {
    primaryAtStop = (await ctx.fakeStats(fakes.primary.origin)).openai;
    await px.stopChild(fakes.primary.child, 2000);
  } else if (name === 'status503') {
    await fakeConfigure(fakes.primary.origin, { fault: { type: 'status', status: 503 } });
  } else if (name === 'hang') {
    await fakeConfigure(fakes.primary.origin, { fault: { type: 'hang' } });
  }
  onsetActionMs = performance.now() - a;
  await new Promise((r) => setTimeout(r, Math.max(0, t0 + (p.preS + p.failS) * 1000 - performance.now())));
  polling = false;
  await poller;
  const gatewayCores = (px.cpuMicros(gw.child.pid) - gwCpu0) / ((performance.now() - t0) * 1000);
  const otherLoadCores = meter.stop();
  const { samples } = await running;
  const after = {
    primary: fakes.primary.child.alive ? (await ctx.fakeStats(fakes.primary.origin)).openai : primaryAtStop,
    backup: (await ctx.fakeStats(fakes.backup.origin)).openai,
  };
  ctx.monitor.unwatch(gw.child.pid);
  await px.stopChild(gw.child);
  if (name === 'hang' || name === 'status503') {
    await fakeConfigure(fakes.primary.origin, { fault: null });
  }
  const log = readFileSync(gw.child.logFile, 'utf8');
  const r = analyseScenario(name, samples, {
    onsetMs,
    onsetActionMs,
    breaker,
    upstream: { primary: after.primary - before.primary, backup: after.backup - before.backup },
    warmupErrors: warm.samples.filter((s) => !s.ok).length,
    otherLoadCores,
    gatewayCores,
    firstByteDeadline: deadline
      ? { ms: deadline.firstByteMs, source: deadline.firstByteSource, ttfbP99: deadline.ttfb?.p99 ?? null }
      : null,
    settleMs: deadline?.firstByteMs ?? FIRST_BYTE_MS,
    failoverLogLines: log.split('\n').filter((l) => l.includes('"msg":"failover"')).length,
  });
  ctx.log(
    `${name}: ${r.sent} sent, ${r.errors.total} errors, post-onset p99 ${fmtMs(r.postOnset.total.p99)} ms, breaker open ${r.breakerOpenAfterMs === null ? '—' : `${fmtMs(r.breakerOpenAfterMs)} ms`} after onset`,
  );
  return r;
}

async function run(ctx: SuiteCtx): Promise<ScenarioOutput> {
  const p = PARAMS[ctx.mode];
  const tl = new Timeline(ctx);
  const redis = await ctx.redis();
  const fakes: Fakes = {
    primary: await ctx.fake('fake primary', FAKE_ARGS),
    backup: await ctx.fake('fake backup', FAKE_ARGS),
  };
  ctx.monitor.start();
  const result: FailoverRunResult = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    machine: px.machineInfo(),
    options: {
      rate: p.rate,
      preS: p.preS,
      failS: p.failS,
      warmupS: p.warmS,
      firstByteMs: FIRST_BYTE_MS,
      scenarios: MODES,
    },
    config: {},
    fake: `first byte log-normal median 20 ms / p95 40 ms, 4 deltas 5 ms apart (\`${FAKE_ARGS.join(' ')}\`)`,
    scenarios: [],
    notes: [],
  };
  const samplesOf = new Map<ScenarioName, Sample[]>();
  for (const m of MODES) {
    result.scenarios.push(await one(ctx, tl, m, fakes, redis.url, () => redis.flush()));
    samplesOf.set(m, tl.runs[tl.runs.length - 1].samples);
  }
  await ctx.monitor.stop();
  result.finishedAt = new Date().toISOString();
  const base = result.scenarios.find((s) => s.name === 'healthy');
  // bench:failover's targets, less "breaker opens within 1 s" (not one of this suite's); "once the breaker is open"
  // falls back to "once the primary is skipped" when the breaker never opened: after a refused connection or a 503
  // the target's cooldown already skips it, so at a low rate the breaker may never see enough failures to open.
  const targets: Target[] = evaluateFailoverTargets(result)
    .filter((t) => !t.target.includes('breaker opens within'))
    .map((t) => {
      const s = result.scenarios.find((x) =>
        t.target.startsWith(`${x.label}: ≤ 50 ms added once the breaker is open`),
      );
      if (s && s.breakerOpenAfterMs === null && base) {
        const skipped = samplesOf
          .get(s.name)
          ?.find((x) => x.atMs >= s.onsetMs && x.ok && x.target?.startsWith('backup') && x.attempts === '1');
        if (skipped) {
          const after = (samplesOf.get(s.name) ?? []).filter((x) => x.ok && x.atMs >= skipped.atMs);
          const p99 = stats(after.map((x) => x.totalMs)).p99 - base.all.total.p99;
          return {
            target: `${s.label}: ≤ 50 ms added once the primary is skipped (breaker or cooldown; p99)`,
            measured: `${fmtMs(p99)} ms (breaker never opened; primary skipped from ${fmtMs(skipped.atMs - s.onsetMs)} ms after the onset)`,
            met: p99 <= 50,
            why: p99 > 50 ? WHY.open : undefined,
          };
        }
      }
      return { ...t, why: t.met === false ? why(t.target) : undefined };
    });
  const hang = result.scenarios.find((s) => s.name === 'hang');
  if (hang && base) {
    const addedMs = hang.worstTtfb.all - base.all.ttfb.p50;
    targets.push({
      target: 'primary hangs: < 2 s added (worst first byte after onset − healthy p50 first byte)',
      measured: `${fmtMs(addedMs)} ms`,
      met: addedMs < 2000,
      why: addedMs >= 2000 ? WHY.hang : undefined,
    });
  }
  const findings = result.scenarios
    .filter((s) => s.name !== 'healthy')
    .map(
      (s) =>
        `${s.label}: ${s.errors.total} client-visible error(s) (${s.errors.afterOnset} on requests sent after the onset); breaker open ${s.breakerOpenAfterMs === null ? 'never' : `${fmtMs(s.breakerOpenAfterMs)} ms`} after the onset; ` +
        `worst first byte after the onset ${fmtMs(s.worstTtfb.all)} ms; once open p99 ${s.afterOpen && base ? `${fmtMs(s.afterOpen.total.p99 - base.all.total.p99)} ms above healthy` : '–'}.`,
    );
  return {
    options: result.options,
    processes: [
      `two fake providers (primary, backup), each its own process: ${result.fake}`,
      'redis-server (throwaway, flushed before each mode: no breaker state carried over)',
      `gateway per mode (fresh process): Router slots ["primary,m", "backup,m"], Failover.timeout and AdaptiveTimeout.firstByte.minMs ${FIRST_BYTE_MS} ms, Cache and Dedup off, Redis on`,
      'harness: open loop, every other request streamed, small unique bodies; GET /api/providers polled every 100 ms',
    ],
    targets,
    findings,
    tables: [
      {
        title: 'Modes',
        markdown: scenarioTable(result),
        note: 'Latencies from the scheduled send time. "Added" = this mode minus the healthy run (a separate gateway process a minute earlier: small negative values are noise).',
      },
      { title: 'Detail', markdown: detailTable(result) },
    ],
    charts: [
      tl.latencyChart('latency', 'Latency through failures (healthy, refused, 503, hang)', {
        percentiles: ['p50', 'p99', 'max'],
        logY: true,
        bucketS: ctx.mode === 'smoke' ? 0.5 : 1,
      }),
      tl.throughputChart('throughput', 'Answers per second'),
      memoryChart(ctx, 'memory', 'Gateway memory (one process per mode)', ctx.monitor.series(), tl.marks),
    ],
    notes: result.notes,
    data: { result },
  };
}

export const failover: ScenarioDef = {
  name: 'failover',
  title: 'Failover when the primary fails',
  summary:
    'A steady rate through a primary → backup chain while the primary stops accepting connections, answers 503, or hangs: clients should not notice beyond a bounded delay.',
  goals: ['0 client errors', '< 2 s added on hang', '≤ 50 ms added once the breaker is open'],
  durations: 'smoke 40 req/s, 1.5 s + 5 s per mode; short 200 req/s, 3 s + 11 s; long 200 req/s, 5 s + 25 s',
  method: `Four modes, each on a fresh gateway (no inherited breaker state; Redis flushed): a warm-up, then an open-loop run at a
fixed rate (every other request streamed, small unique bodies, cache and coalescing off) whose first part is healthy and
whose second part has the failure: *healthy* (none, the baseline), *refused* (the primary's process is stopped),
*503* (\`/__fake/configure\` status fault), *hang* (hang fault: no headers ever). \`GET /api/providers\` is polled every
100 ms for the primary's circuit state. The analysis is bench:failover's (\`bench/lib/failover-report.ts\`): errors (split
into requests sent after the onset and requests in flight at it), latency after the onset, once the breaker is seen open,
and from one first-byte deadline after that, each minus the healthy run's; worst first byte after the onset; when the
breaker opened; upstream calls per fake.`,
  run,
};
