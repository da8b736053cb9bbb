/**
 * Overhead benchmark: the fake provider called directly vs through Switchyard, one run.
 *
 *   npm run bench:overhead -- [--duration 5] [--quick] [--only small,cc,big] [--mode nonstream,stream]
 *                             [--concurrency 1,64,256] [--cpu-prof] [--log-level warn] [--no-log-variant]
 *
 * See bench/README.md for what is measured and how.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BODY_NAMES, loadBodies, type BenchBody, type BodyName } from './lib/bodies';
import { probe, ttfbLoop } from './lib/load';
import * as px from './lib/processes';
import { consoleReport, writeDoc, writeJson, type Mode, type RunResult, type TtfbCell } from './lib/report';
import { measureBaseline, measureCell, waitQuiet, type Ctx, type MeasureOptions } from './lib/cells';
import { ensureBuild, startFake, startGateway, type ServiceOptions } from './lib/services';
import { measureTokens } from './lib/tokens';
import { formatProfileSummary, newestProfile, summarizeProfile } from './profile-summary';
import { METHOD } from './lib/method';

const ROOT = resolve(__dirname, '..');
const RESULTS = join(ROOT, 'bench/results');
const PROFILES = join(RESULTS, 'profiles');
const MODEL = 'fake-model';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    mode: { type: 'string' },
    concurrency: { type: 'string', default: '1,64,256' },
    'cpu-prof': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    'no-log-variant': { type: 'boolean', default: false },
    'ttfb-requests': { type: 'string' },
    'skip-tokens': { type: 'boolean', default: false },
    'keep-tmp': { type: 'boolean', default: false },
    'quiet-wait': { type: 'string', default: '10' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const durationS = args.quick ? 2 : Number(args.duration);
const warmupS = Number(args.warmup ?? (args.quick ? 1 : 2));
const ttfbN = Number(args['ttfb-requests'] ?? (args.quick ? 100 : 200));
const bodiesWanted = (args.only?.split(',') ?? BODY_NAMES) as BodyName[];
const modes = (args.mode?.split(',') ?? ['nonstream', 'stream']) as Mode[];
const concurrencies = args.concurrency.split(',').map(Number);
const cpuProf = args['cpu-prof'];
const fullRun = !args.only && !args.mode && concurrencies.join() === '1,64,256';

const tmp = mkdtempSync(join(os.tmpdir(), 'switchyard-bench-'));
let tmpRemoved = false;
const removeTmp = () => {
  if (!tmpRemoved && !args['keep-tmp']) {
    tmpRemoved = true;
    rmSync(tmp, { recursive: true, force: true });
  }
};
px.installCleanup(removeTmp);
const log = (s: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);
const svc: ServiceOptions = { root: ROOT, tmp, model: MODEL, cpuProfDir: cpuProf ? PROFILES : undefined, log };
const mo: MeasureOptions = { durationS, warmupS, quietWaitS: Number(args['quiet-wait']), svc };

async function verify(name: string, origin: string, body: BenchBody, mode: Mode): Promise<void> {
  const { status, text } = await probe(origin, body.path, body[mode], body.headers);
  const ok =
    status === 200 &&
    (mode === 'stream'
      ? text.includes('event: message_stop') && !text.includes('event: error')
      : (JSON.parse(text) as { type?: string }).type === 'message');
  if (!ok) {
    throw new Error(`${name} ${body.name} ${mode}: unexpected answer ${status}: ${text.slice(0, 400)}`);
  }
}

async function main(): Promise<void> {
  if (args.help) {
    console.log(METHOD.usage);
    return;
  }
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  const stale = ensureBuild(svc);
  if (stale) {
    notes.push(stale);
  }
  const all = loadBodies(ROOT, MODEL);
  const bodies = bodiesWanted.map((b) => {
    if (!all[b]) {
      throw new Error(`--only: unknown body "${b}" (small, cc, big)`);
    }
    return all[b];
  });
  const result: RunResult = {
    startedAt,
    finishedAt: '',
    machine: px.machineInfo(),
    options: { durationS, warmupS, ttfbRequests: ttfbN, bodies: bodiesWanted, modes, concurrencies, cpuProf, logLevel: args['log-level'] },
    bodies: bodies.map((b) => ({ name: b.name, label: b.label, bytes: b.bytes, path: b.path })),
    cells: [],
    variantCells: [],
    ttfb: [],
    tokens: [],
    notes,
  };
  if (!args['skip-tokens']) {
    log('token estimator timings');
    result.tokens = await measureTokens(bodies.filter((b) => b.name !== 'small'));
  }

  if (!cpuProf) {
    result.baseline = await measureBaseline(mo, bodies[0]);
  }
  const [fakePort, gwPort] = [await px.freePort(), await px.freePort()];
  const fake = await startFake(svc, fakePort);
  let gw = await startGateway(svc, gwPort, fakePort, args['log-level']);
  const ctx: Ctx = { fake, gw, fakeOrigin: `http://127.0.0.1:${fakePort}`, gwOrigin: `http://127.0.0.1:${gwPort}` };
  log(`fake provider pid ${fake.pid} on :${fakePort}, gateway pid ${gw.pid} on :${gwPort}, tmp ${tmp}`);

  for (const body of bodies) {
    for (const mode of modes) {
      await verify('direct', ctx.fakeOrigin, body, mode);
      await verify('gateway', ctx.gwOrigin, body, mode);
      if (mode === 'stream' && ttfbN > 0 && !cpuProf) {
        const targets = [
          { name: 'direct', origin: ctx.fakeOrigin, path: body.path },
          { name: 'gateway', origin: ctx.gwOrigin, path: body.path },
        ];
        await waitQuiet(mo);
        const t = await ttfbLoop(targets, body.stream, body.headers, ttfbN);
        const cell: TtfbCell = {
          body: body.name,
          direct: t.direct,
          gateway: t.gateway,
          addedP50: t.gateway.p50 - t.direct.p50,
          addedP99: t.gateway.p99 - t.direct.p99,
        };
        result.ttfb.push(cell);
        log(`${body.name} TTFB: direct p50 ${t.direct.p50.toFixed(2)} ms, gateway p50 ${t.gateway.p50.toFixed(2)} ms`);
      }
      for (const c of concurrencies) {
        result.cells.push(await measureCell(mo, ctx, body, mode, c, args['log-level']));
      }
    }
  }

  const variantBodies = bodies.filter((b) => b.name !== 'big');
  if (!args['no-log-variant'] && !cpuProf && args['log-level'] !== 'info' && modes.includes('nonstream') && concurrencies.includes(64)) {
    await px.stopChild(gw);
    gw = ctx.gw = await startGateway(svc, gwPort, fakePort, 'info');
    log(`LOG_LEVEL=info variant, gateway pid ${gw.pid}`);
    for (const body of variantBodies) {
      const base = result.cells.find((x) => x.body === body.name && x.mode === 'nonstream' && x.concurrency === 64);
      result.variantCells.push(await measureCell(mo, ctx, body, 'nonstream', 64, 'info', base?.direct));
    }
  }

  const exit = await px.stopChild(gw, 20_000);
  await px.stopChild(fake);
  result.finishedAt = new Date().toISOString();
  const errors = [...result.cells, ...result.variantCells].filter(
    (c) => c.direct.errors + c.direct.timeouts + c.direct.non2xx + c.gateway.errors + c.gateway.timeouts + c.gateway.non2xx > 0,
  );
  const loads = [...result.cells, ...result.variantCells].flatMap((c) => [c.direct.otherLoadCores, c.gateway.otherLoadCores]);
  if (loads.length > 0) {
    const avg = loads.reduce((a, b) => a + b, 0) / loads.length;
    if (avg > 0.2) {
      notes.push(
        `other processes on the machine used ${avg.toFixed(1)} cores on average (max ${Math.max(...loads).toFixed(1)}) ` +
          `during the measured runs, out of ${result.machine.cores}: req/s and latencies are depressed and noisy; ` +
          'CPU µs/request is the more robust number (still inflated by contention)',
      );
    }
  }
  if (errors.length > 0) {
    notes.push(`errors / timeouts / non-2xx in ${errors.length} cell(s): see the errors column`);
  }
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  writeJson(join(RESULTS, `overhead-${stamp}.json`), result);

  let profile;
  if (cpuProf) {
    const file = newestProfile(PROFILES, gw.pid);
    const cell = result.cells.find((x) => x.body === 'cc' && x.mode === 'nonstream' && x.concurrency === 64) ?? result.cells.at(-1);
    if (!file || !cell) {
      throw new Error(`no .cpuprofile written in ${PROFILES} (gateway exit: ${exit})`);
    }
    const label = { small: '1 KB', cc: '75 KB Claude Code', big: '400 KB Claude Code' }[cell.body];
    profile = { ...summarizeProfile(file, 25, ...cell.gateway.windowUs), cell: `${label}, ${cell.mode}, c=${cell.concurrency}` };
    writeJson(join(RESULTS, 'profile-latest.json'), profile);
    console.log(formatProfileSummary(profile) + '\n');
  } else {
    writeJson(join(RESULTS, 'overhead-latest.json'), result);
  }
  console.log(consoleReport(result));
  if (!cpuProf) {
    writeDoc(join(ROOT, 'docs/benchmarks/overhead.md'), result, METHOD.text, METHOD.lastProfile(RESULTS));
    log(`wrote docs/benchmarks/overhead.md${fullRun ? '' : ' (partial run: only the selected cells)'}`);
  } else if (existsSync(join(RESULTS, 'overhead-latest.json'))) {
    writeDoc(join(ROOT, 'docs/benchmarks/overhead.md'), METHOD.latest(RESULTS), METHOD.text, profile);
    log('docs/benchmarks/overhead.md: tables from overhead-latest.json, hot spots from this profile');
  }
  removeTmp();
}

main().catch(async (err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? String(err)}`);
  await px.stopAll();
  removeTmp();
  process.exit(1);
});
