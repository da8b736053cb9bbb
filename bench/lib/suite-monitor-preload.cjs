'use strict';
/*
 * Preloaded into every gateway process of `npm run bench` (`NODE_OPTIONS=--require …/suite-monitor-preload.cjs`):
 * the gateway's own view of itself, read by the harness without touching the product code. Inert unless
 * SWITCHYARD_BENCH_MONITOR_SOCKET is set, and only in the main thread (worker threads inherit NODE_OPTIONS).
 *
 * Control: a Unix socket at $SWITCHYARD_BENCH_MONITOR_SOCKET. A connection sends one command line and gets one
 * JSON answer:
 *   sample            event-loop lag since the previous `sample` (then reset) + process.memoryUsage()
 *   mark              event-loop lag since the previous `mark` (then reset): a measurement window
 *   gc                two full GCs, then process.memoryUsage() (heap after GC)
 *   snapshot <path>   v8.writeHeapSnapshot(path) (a full GC first, by V8), answered when the file is written
 *
 * Lag = a monitorEventLoopDelay sample minus its 10 ms resolution: the histogram records the time between two
 * firings of its 10 ms timer, so an idle loop reads ~10.1 ms and a 40 ms block ~41.7 ms (as in
 * queue-lag-preload.cjs). Not a signal: SIGUSR2 is logged and ignored by src/main.ts, and a command over a
 * socket tells the harness when the work (a snapshot) is done.
 */
const socketPath = process.env.SWITCHYARD_BENCH_MONITOR_SOCKET;
if (socketPath && require('node:worker_threads').isMainThread) {
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const { rmSync } = require('node:fs');
  const { createServer } = require('node:net');
  const v8 = require('node:v8');
  const RESOLUTION_MS = 10;
  const perSample = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const perMark = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  perSample.enable();
  perMark.enable();
  const lagMs = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  const read = (h, since) => {
    const out = {
      from: since,
      to: Date.now(),
      samples: h.count,
      p50Ms: h.count > 0 ? lagMs(h.percentile(50)) : 0,
      p99Ms: h.count > 0 ? lagMs(h.percentile(99)) : 0,
      maxMs: h.count > 0 ? lagMs(h.max) : 0,
      meanMs: h.count > 0 ? lagMs(h.mean) : 0,
    };
    h.reset();
    return out;
  };
  let sampleSince = Date.now();
  let markSince = Date.now();
  let gc;
  const fullGc = () => {
    if (!gc) {
      v8.setFlagsFromString('--expose-gc');
      gc = require('node:vm').runInNewContext('gc');
    }
    gc();
    gc();
  };
  const mem = () => {
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
  };

  const handle = (line) => {
    const [cmd, ...rest] = line.trim().split(' ');
    switch (cmd) {
      case 'sample': {
        const lag = read(perSample, sampleSince);
        sampleSince = lag.to;
        return { pid: process.pid, lag, mem: mem() };
      }
      case 'mark': {
        const lag = read(perMark, markSince);
        markSince = lag.to;
        return { pid: process.pid, lag };
      }
      case 'gc': {
        const t = performance.now();
        fullGc();
        return { pid: process.pid, gcMs: performance.now() - t, mem: mem() };
      }
      case 'snapshot': {
        const t = performance.now();
        const file = v8.writeHeapSnapshot(rest.join(' '));
        return { pid: process.pid, file, ms: performance.now() - t, mem: mem() };
      }
      default:
        return { error: `unknown command ${cmd}` };
    }
  };

  rmSync(socketPath, { force: true });
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        return;
      }
      let out;
      try {
        out = handle(buf.slice(0, nl));
      } catch (err) {
        out = { error: String((err && err.message) || err) };
      }
      sock.end(JSON.stringify(out));
    });
  });
  server.on('error', () => undefined);
  server.listen(socketPath);
  server.unref();
  process.once('exit', () => rmSync(socketPath, { force: true }));
}
