/**
 * Failover benchmark: a steady open-loop 200 req/s (half streamed, small bodies) through a gateway whose
 * Router.default is ["primary,m", "backup,m"], two fake providers in their own processes, and four
 * scenarios: healthy, primary refusing connections (process stopped), primary answering 503, primary hanging.
 *
 *   npm run bench:failover -- [--rate 200] [--pre 3] [--fail 11] [--warmup 3] [--first-byte-ms 1500]
 *
 * Writes bench/results/failover-latest.json and docs/benchmarks/failover.md. See bench/README.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFailoverDoc } from './lib/failover-doc';
import { analyseScenario, failoverConsoleReport, type BreakerEvent, type FailoverRunResult, type ScenarioName } from './lib/failover-report';
import { fakeConfigure, fakeReset, fakeStats, getJson, otherLoadMeter, startFakeWith, startGatewayWith } from './lib/gateway';
import { fixedRate, runOpenLoop } from './lib/open-loop';
import * as px from './lib/processes';
import { writeJson } from './lib/report';
import { ensureBuild, type ServiceOptions } from './lib/services';

const ROOT = resolve(__dirname, '..');
const RESULTS = join(ROOT, 'bench/results');
const MODEL = 'm';
const PRIMARY = `primary,${MODEL}`;
const BACKUP = `backup,${MODEL}`;
const ALL: ScenarioName[] = ['healthy', 'refused', 'status503', 'hang'];

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    pre: { type: 'string', default: '3' },
    fail: { type: 'string', default: '11' },
    warmup: { type: 'string', default: '3' },
    'first-byte-ms': { type: 'string', default: '1500' },
    scenarios: { type: 'string', default: ALL.join(',') },
    'quiet-wait': { type: 'string', default: '10' },
    'keep-tmp': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const USAGE = `npm run bench:failover -- [options]     (builds first; or: npx tsx bench/failover.ts)
  --rate N             arrival rate, req/s (default 200; half streamed)
  --pre S              healthy seconds before the failure onset in each scenario (default 3)
  --fail S             seconds of failure after the onset (default 11)
  --warmup S           warm-up at the same rate on each fresh gateway, not measured (default 3)
  --first-byte-ms N    Failover.timeout and AdaptiveTimeout.firstByte.minMs (default 1500)
  --scenarios LIST     ${ALL.join(',')} (default all)
  --quiet-wait S       wait up to S s for other processes to go quiet before each scenario (default 10)
  --keep-tmp           keep the temp dir (configs, gateway logs, every sample as samples-<scenario>.json)`;

const RATE = Number(args.rate);
const PRE_S = Number(args.pre);
const FAIL_S = Number(args.fail);
const FIRST_BYTE_MS = Number(args['first-byte-ms']);
const FAKE_ARGS = ['--profile', '20,40', '--chunks', '4', '--gap-ms', '5'];

const tmp = mkdtempSync(join(os.tmpdir(), 'switchyard-bench-failover-'));
const removeTmp = () => {
  if (!args['keep-tmp']) {
    rmSync(tmp, { recursive: true, force: true });
  }
};
px.installCleanup(removeTmp);
const log = (s: string) => console.error(`[bench:failover ${new Date().toISOString().slice(11, 19)}] ${s}`);
const svc: ServiceOptions = { root: ROOT, tmp, model: MODEL, log };

function gatewayConfig(primaryPort: number, backupPort: number): Record<string, unknown> {
  const provider = (name: string, port: number) => ({
    name,
    api_base_url: `http://127.0.0.1:${port}/v1/chat/completions`,
    api_key: 'bench',
    models: [MODEL],
  });
  const chain = [PRIMARY, BACKUP];
  return {
    Providers: [provider('primary', primaryPort), provider('backup', backupPort)],
    Router: { default: chain, background: chain, think: chain, longContext: chain, webSearch: chain, image: chain },
    Cache: { enabled: false },
    Dedup: { enabled: false },
    // Stream resume is opt-in: on here, so a stream cut when the primary dies continues on the backup.
    Failover: { timeout: FIRST_BYTE_MS, resume: { enabled: true, maxResumes: 1 } },
    AdaptiveTimeout: { firstByte: { k: 4, minMs: FIRST_BYTE_MS, maxMs: 60000, perInputTokenMs: 0.01 } },
  };
}

/** Unique small Anthropic Messages requests (no cache, no coalescing can hide a failure), every other one streamed. */
function schedule(seconds: number, tag: string) {
  return fixedRate(RATE, seconds, (i) => {
    const stream = i % 2 === 0;
    const body = JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      stream,
      system: 'You are a concise assistant.',
      messages: [{ role: 'user', content: `${tag} request ${i}: say hello in one short sentence.` }],
    });
    return { path: '/v1/messages', body, headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, stream, tag, id: `${tag}:${i}` };
  });
}

interface Fakes {
  primary: px.Child;
  backup: px.Child;
  primaryPort: number;
  backupPort: number;
}

const origin = (port: number) => `http://127.0.0.1:${port}`;

interface DeadlineView {
  target: string;
  firstByteMs: number;
  firstByteSource: string;
  ttfb?: { p99?: number | null };
}

async function scenario(name: ScenarioName, fakes: Fakes): Promise<FailoverRunResult['scenarios'][number]> {
  if (!fakes.primary.alive) {
    fakes.primary = await startFakeWith(svc, 'fake primary', fakes.primaryPort, FAKE_ARGS);
  }
  await Promise.all([fakeReset(origin(fakes.primaryPort)), fakeReset(origin(fakes.backupPort))]);
  const port = await px.freePort();
  const gw = await startGatewayWith(svc, { name, port, config: gatewayConfig(fakes.primaryPort, fakes.backupPort) });
  const gwOrigin = origin(port);
  log(`${name}: gateway pid ${gw.pid} on :${port}; warm-up ${args.warmup} s at ${RATE} req/s`);
  const warm = await runOpenLoop(schedule(Number(args.warmup), `warmup-${name}`), { origin: gwOrigin }).done;
  const warmErrors = warm.filter((s) => !s.ok).length;
  await px.waitIdle(gw.pid);
  const load = await px.waitQuiet(Number(args['quiet-wait']) * 1000);
  if (load >= 0.25) {
    log(`machine busy (${load.toFixed(2)} cores used by other processes): measuring anyway`);
  }
  const before = { primary: (await fakeStats(origin(fakes.primaryPort))).openai, backup: (await fakeStats(origin(fakes.backupPort))).openai };

  const breaker: BreakerEvent[] = [];
  /** Gateway and whole-machine CPU (ms, cumulative) per poll, for the samples dump. */
  const cpu: { atMs: number; gw: number; machine: number }[] = [];
  const gwCpu0 = px.cpuMicros(gw.pid);
  const t0 = performance.now();
  const onsetMs = PRE_S * 1000;
  let polling = true;
  const poller = (async () => {
    let last = '';
    while (polling) {
      const at = performance.now() - t0;
      cpu.push({ atMs: at, gw: px.cpuMicros(gw.pid) / 1000, machine: px.machineBusyMicros() / 1000 });
      try {
        const view = await getJson<{ targets: { target: string; circuit: { state: string } }[] }>(`${gwOrigin}/api/providers`, 2000);
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
  const meter = otherLoadMeter([gw.pid, fakes.primary.pid, fakes.backup.pid]);
  const run = runOpenLoop(schedule(PRE_S + FAIL_S, name), { origin: gwOrigin, t0, timeoutMs: 120_000 });
  let onsetActionMs = NaN;
  /** The primary's deadlines (GET /api/timeouts) right before the onset. */
  const seen: { deadline: DeadlineView | null } = { deadline: null };
  /** The stopped primary's counter, read right before it was stopped (refused). */
  let primaryAtStop = NaN;
  const fault = (async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + onsetMs - performance.now())));
    seen.deadline = await getJson<{ targets: DeadlineView[] }>(`${gwOrigin}/api/timeouts`, 2000)
      .then((v) => v.targets.find((t) => t.target === PRIMARY) ?? null)
      .catch(() => null);
    const a = performance.now();
    if (name === 'refused') {
      primaryAtStop = (await fakeStats(origin(fakes.primaryPort))).openai;
      fakes.primary.proc.kill('SIGTERM');
      await fakes.primary.exited;
    } else if (name === 'status503') {
      await fakeConfigure(origin(fakes.primaryPort), { fault: { type: 'status', status: 503 } });
    } else if (name === 'hang') {
      await fakeConfigure(origin(fakes.primaryPort), { fault: { type: 'hang' } });
    }
    onsetActionMs = performance.now() - a;
    if (name !== 'healthy') {
      log(`${name}: failure onset at ${((a - t0) / 1000).toFixed(2)} s (action took ${onsetActionMs.toFixed(0)} ms)`);
    }
  })();
  await fault;
  const sendEnd = t0 + (PRE_S + FAIL_S) * 1000;
  await new Promise((r) => setTimeout(r, Math.max(0, sendEnd - performance.now())));
  polling = false;
  await poller;
  const otherLoadCores = meter.stop();
  const gatewayCores = (px.cpuMicros(gw.pid) - gwCpu0) / ((performance.now() - t0) * 1000);
  log(`${name}: all sent; waiting for the last answers`);
  const samples = await run.done;
  writeFileSync(join(tmp, `samples-${name}.json`), JSON.stringify({ onsetMs, breaker, cpu, samples }));
  const after = {
    primary: fakes.primary.alive ? (await fakeStats(origin(fakes.primaryPort))).openai : primaryAtStop,
    backup: (await fakeStats(origin(fakes.backupPort))).openai,
  };
  await px.stopChild(gw);
  const gwLog = readFileSync(gw.logFile, 'utf8');
  const result = analyseScenario(name, samples, {
    onsetMs,
    onsetActionMs,
    breaker,
    upstream: { primary: after.primary - before.primary, backup: after.backup - before.backup },
    warmupErrors: warmErrors,
    otherLoadCores,
    gatewayCores,
    firstByteDeadline: seen.deadline
      ? { ms: seen.deadline.firstByteMs, source: seen.deadline.firstByteSource, ttfbP99: seen.deadline.ttfb?.p99 ?? null }
      : null,
    settleMs: seen.deadline?.firstByteMs ?? FIRST_BYTE_MS,
    failoverLogLines: gwLog.split('\n').filter((l) => l.includes('"msg":"failover"')).length,
  });
  if (result.breakerOpenAfterMs !== null) {
    // Gateway CPU from the onset until the attempts started before the breaker opened have all failed over.
    const end = onsetMs + result.breakerOpenAfterMs + result.settleMs;
    const a = cpu.find((c) => c.atMs >= onsetMs);
    const b = [...cpu].reverse().find((c) => c.atMs <= end);
    result.gatewayCoresFailingOver = a && b && b.atMs > a.atMs ? (b.gw - a.gw) / (b.atMs - a.atMs) : null;
  }
  log(
    `${name}: ${result.sent} sent, ${result.errors.total} errors, post-onset p50/p99 ${result.postOnset.total.p50.toFixed(0)}/` +
      `${result.postOnset.total.p99.toFixed(0)} ms, breaker open ${result.breakerOpenAfterMs === null ? '—' : `${result.breakerOpenAfterMs.toFixed(0)} ms`} after onset`,
  );
  return result;
}

async function main(): Promise<void> {
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const names = args.scenarios.split(',') as ScenarioName[];
  for (const n of names) {
    if (!ALL.includes(n)) {
      throw new Error(`--scenarios: unknown "${n}" (${ALL.join(', ')})`);
    }
  }
  const result: FailoverRunResult = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    machine: px.machineInfo(),
    options: { rate: RATE, preS: PRE_S, failS: FAIL_S, warmupS: Number(args.warmup), firstByteMs: FIRST_BYTE_MS, scenarios: names },
    config: {},
    fake: `first byte log-normal median 20 ms / p95 40 ms, 4 deltas 5 ms apart (\`${FAKE_ARGS.join(' ')}\`)`,
    scenarios: [],
    notes: [],
  };
  const stale = ensureBuild(svc);
  if (stale) {
    result.notes.push(stale);
  }
  const [primaryPort, backupPort] = [await px.freePort(), await px.freePort()];
  const fakes: Fakes = {
    primary: await startFakeWith(svc, 'fake primary', primaryPort, FAKE_ARGS),
    backup: await startFakeWith(svc, 'fake backup', backupPort, FAKE_ARGS),
    primaryPort,
    backupPort,
  };
  result.config = gatewayConfig(primaryPort, backupPort);
  log(`fake primary :${primaryPort}, fake backup :${backupPort}, tmp ${tmp}`);
  for (const name of names) {
    result.scenarios.push(await scenario(name, fakes));
  }
  await px.stopChild(fakes.primary);
  await px.stopChild(fakes.backup);
  result.finishedAt = new Date().toISOString();
  const busy = Math.max(...result.scenarios.map((x) => x.otherLoadCores));
  if (busy > 0.2) {
    result.notes.push(
      `other processes on the machine used up to ${busy.toFixed(1)} cores (of ${result.machine.cores}) during some ` +
        'scenarios (last column): their latencies are depressed and noisy.',
    );
  }
  writeJson(join(RESULTS, 'failover-latest.json'), result);
  console.log(failoverConsoleReport(result));
  writeFailoverDoc(join(ROOT, 'docs/benchmarks/failover.md'), result);
  log('wrote bench/results/failover-latest.json and docs/benchmarks/failover.md');
  removeTmp();
}

main().catch(async (err: unknown) => {
  console.error(`bench:failover: ${(err as Error).stack ?? String(err)}`);
  await px.stopAll();
  removeTmp();
  process.exit(1);
});
