/**
 * One measured cell (direct vs gateway, same body / mode / concurrency) and the machine calibration:
 * warm-up, wait for idle children and a quiet machine, measured run, CPU and memory from /proc.
 */
import type { BenchBody } from './bodies';
import { runLoad } from './load';
import * as px from './processes';
import type { Cell, Mode, RunResult } from './report';
import { startBaseline, type ServiceOptions } from './services';

export interface MeasureOptions {
  durationS: number;
  warmupS: number;
  /** Max wait for a quiet machine before each measured run (s); at most 60 s over the whole run. */
  quietWaitS: number;
  svc: ServiceOptions;
}

export interface Ctx {
  fake: px.Child;
  gw: px.Child;
  fakeOrigin: string;
  gwOrigin: string;
}

let quietBudgetMs = 60_000;

/** Waits for a quiet machine: at most `quietWaitS` each time and 60 s over the whole run. */
export async function waitQuiet(o: MeasureOptions): Promise<number> {
  const t0 = Date.now();
  const load = await px.waitQuiet(Math.min(o.quietWaitS * 1000, quietBudgetMs));
  quietBudgetMs = Math.max(0, quietBudgetMs - (Date.now() - t0));
  return load;
}

export async function measureCell(
  o: MeasureOptions,
  ctx: Ctx,
  body: BenchBody,
  mode: Mode,
  c: number,
  logLevel: string,
  direct?: Cell['direct'],
): Promise<Cell> {
  const { durationS, warmupS } = o;
  const log = o.svc.log;
  const spec = (origin: string) => ({
    url: origin + body.path,
    body: body[mode],
    headers: body.headers,
    connections: c,
    durationS,
    timeoutS: 60,
  });
  // CPU (µs) of: gateway, fake, harness (load generator), whole machine; and the monotonic clock (µs).
  const snap = () => {
    const u = process.cpuUsage();
    return {
      gw: px.cpuMicros(ctx.gw.pid),
      fake: px.cpuMicros(ctx.fake.pid),
      loadgen: u.user + u.system,
      machine: px.machineBusyMicros(),
      t: Number(process.hrtime.bigint() / 1000n),
    };
  };
  const measure = async (origin: string) => {
    const a = snap();
    const r = await runLoad(spec(origin));
    const b = snap();
    const n = Math.max(1, r.requests);
    const ours = b.gw - a.gw + (b.fake - a.fake) + (b.loadgen - a.loadgen);
    return {
      ...r,
      cpuUsPerReq: (b.gw - a.gw) / n,
      fakeCpuUsPerReq: (b.fake - a.fake) / n,
      loadgenCpuUsPerReq: (b.loadgen - a.loadgen) / n,
      otherLoadCores: Math.max(0, (b.machine - a.machine - ours) / (b.t - a.t)),
      windowUs: [a.t, b.t] as [number, number],
    };
  };
  const quiet = async () => {
    const load = await waitQuiet(o);
    if (load >= 0.25) {
      log(`machine still busy (${load.toFixed(2)} cores used by other processes): measuring anyway`);
    }
  };
  if (!direct) {
    await quiet();
    await runLoad({ ...spec(ctx.fakeOrigin), durationS: warmupS });
    await px.waitIdle(ctx.fake.pid);
    const { cpuUsPerReq: _gw, windowUs: _w, ...d } = await measure(ctx.fakeOrigin);
    direct = d;
  }
  await Promise.all([px.waitIdle(ctx.gw.pid), px.waitIdle(ctx.fake.pid)]);
  await quiet();
  await runLoad({ ...spec(ctx.gwOrigin), durationS: warmupS });
  await Promise.all([px.waitIdle(ctx.gw.pid), px.waitIdle(ctx.fake.pid)]);
  const r = await measure(ctx.gwOrigin);
  const gateway = { ...r, ...px.memInfo(ctx.gw.pid) };
  const added = { p50: r.p50 - direct.p50, p95: r.p95 - direct.p95, p99: r.p99 - direct.p99 };
  log(
    `${body.name} ${mode} c=${c}: direct ${direct.rps.toFixed(0)} req/s p99 ${direct.p99.toFixed(1)} ms | ` +
      `gateway ${r.rps.toFixed(0)} req/s p99 ${r.p99.toFixed(1)} ms, ${r.cpuUsPerReq.toFixed(0)} µs CPU/req | ` +
      `other load ${direct.otherLoadCores.toFixed(1)} / ${r.otherLoadCores.toFixed(1)} cores` +
      (r.errors + r.timeouts + r.non2xx + direct.errors + direct.timeouts + direct.non2xx > 0 ? ' — ERRORS' : ''),
  );
  return { body: body.name, mode, concurrency: c, logLevel, direct, gateway, added };
}

/** Calibration: CPU per request of a bare node:http JSON server on this machine (c=64, first body). */
export async function measureBaseline(o: MeasureOptions, body: BenchBody): Promise<RunResult['baseline']> {
  const { durationS, warmupS } = o;
  const port = await px.freePort();
  const child = await startBaseline(o.svc, port);
  try {
    const spec = { url: `http://127.0.0.1:${port}${body.path}`, body: body.nonstream, headers: body.headers, connections: 64 };
    await runLoad({ ...spec, durationS: warmupS });
    await waitQuiet(o);
    const [c0, m0, t0] = [px.cpuMicros(child.pid), px.machineBusyMicros(), performance.now()];
    const u0 = process.cpuUsage();
    const r = await runLoad({ ...spec, durationS: Math.min(durationS, 3) });
    const u = process.cpuUsage(u0);
    const cpu = px.cpuMicros(child.pid) - c0;
    const other = px.machineBusyMicros() - m0 - cpu - u.user - u.system;
    const baseline = {
      body: body.name,
      rps: r.rps,
      cpuUsPerReq: cpu / Math.max(1, r.requests),
      otherLoadCores: Math.max(0, other / ((performance.now() - t0) * 1000)),
    };
    o.svc.log(`baseline node:http server: ${r.rps.toFixed(0)} req/s, ${baseline.cpuUsPerReq.toFixed(0)} µs CPU/req`);
    return baseline;
  } finally {
    await px.stopChild(child);
  }
}
