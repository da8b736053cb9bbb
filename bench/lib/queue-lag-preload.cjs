'use strict';
/*
 * Preloaded into a gateway process by bench/queue.ts (`NODE_OPTIONS=--require …/queue-lag-preload.cjs`):
 * measures the process' event-loop delay with perf_hooks.monitorEventLoopDelay (resolution 10 ms, Node's
 * default) without touching the product code. Inert unless SWITCHYARD_BENCH_LAG_SOCKET is set, and only in
 * the main thread (worker threads inherit NODE_OPTIONS too).
 *
 * Control: a Unix socket at $SWITCHYARD_BENCH_LAG_SOCKET. Each connection is a "mark": the process answers
 * with the statistics (JSON) of the window since the previous mark (or since start) and resets the
 * histograms. The harness marks right before a measurement and right after it, and keeps the second answer.
 * Not a signal: the gateway calls NestJS' enableShutdownHooks() with the default signal list, so SIGUSR2
 * (like SIGHUP) shuts it down.
 *
 * Lag = a histogram sample minus the resolution: monitorEventLoopDelay records the time between two firings
 * of its 10 ms timer, so an idle loop reads ~10.1 ms and a 40 ms block ~41.7 ms (lag ~31.7 ms, the delay of
 * the timer that was due during the block). `timeline` holds the worst lag of every 250 ms slice of the window,
 * from a plain 10 ms interval timer's drift (not a second histogram: a reset histogram skips its next sample,
 * which after a long block is the block itself).
 *
 * With SWITCHYARD_BENCH_CPU_PROF=<dir>, a V8 CPU profile (inspector, 1 ms sampling) runs from each mark to
 * the next; the mark that ends it writes <dir>/<pid>-<seq>.cpuprofile and names it in its answer (`profile`).
 */
const socketPath = process.env.SWITCHYARD_BENCH_LAG_SOCKET;
if (socketPath && require('node:worker_threads').isMainThread) {
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const { rmSync, writeFileSync } = require('node:fs');
  const { createServer } = require('node:net');
  const RESOLUTION_MS = 10;
  const SLICE_MS = 250;
  const whole = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  whole.enable();
  const lag = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  let since = Date.now();
  let seq = 0;
  let timeline = [];
  let last = performance.now();
  let sliceStart = Date.now();
  let sliceMax = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    sliceMax = Math.max(sliceMax, now - last - RESOLUTION_MS);
    last = now;
    const wall = Date.now();
    if (wall - sliceStart >= SLICE_MS) {
      timeline.push({ t: wall, maxMs: Math.max(0, sliceMax) });
      if (timeline.length > 4 * 60 * 10) {
        timeline.shift();
      }
      sliceMax = 0;
      sliceStart = wall;
    }
  }, RESOLUTION_MS);
  tick.unref();

  const profDir = process.env.SWITCHYARD_BENCH_CPU_PROF;
  let session;
  if (profDir) {
    const inspector = require('node:inspector');
    session = new inspector.Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 1000 });
    session.post('Profiler.start');
  }

  const snapshot = () => {
    seq += 1;
    const now = Date.now();
    const out = {
      seq,
      pid: process.pid,
      from: since,
      to: now,
      resolutionMs: RESOLUTION_MS,
      samples: whole.count,
      p50Ms: lag(whole.percentile(50)),
      p90Ms: lag(whole.percentile(90)),
      p99Ms: lag(whole.percentile(99)),
      p999Ms: lag(whole.percentile(99.9)),
      maxMs: whole.count > 0 ? lag(whole.max) : 0,
      meanMs: whole.count > 0 ? lag(whole.mean) : 0,
      timeline,
    };
    whole.reset();
    timeline = [];
    sliceMax = 0;
    sliceStart = now;
    since = now;
    return out;
  };

  rmSync(socketPath, { force: true });
  const server = createServer((sock) => {
    sock.on('error', () => undefined);
    const out = snapshot();
    if (!session) {
      sock.end(JSON.stringify(out));
      return;
    }
    session.post('Profiler.stop', (err, res) => {
      if (!err && res && res.profile) {
        out.profile = `${profDir}/${process.pid}-${out.seq}.cpuprofile`;
        writeFileSync(out.profile, JSON.stringify(res.profile));
      }
      session.post('Profiler.start');
      sock.end(JSON.stringify(out));
    });
  });
  server.on('error', () => undefined);
  server.listen(socketPath);
  server.unref();
  process.once('exit', () => rmSync(socketPath, { force: true }));
}
