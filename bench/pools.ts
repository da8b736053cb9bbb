/**
 * Warm vs cold upstream pools: TTFB of the first 20 requests through a fresh UpstreamClient, with and without
 * the startup warm-up (Pools.warmConnections sockets opened before the first request).
 *
 *   npm run bench:pools -- [--trials 30] [--requests 20] [--warm 4] [--setup-ms 0,40]
 *
 * The fake provider runs in its own process, plain HTTP on loopback (TLS off). `--setup-ms` adds a simulated
 * connection-setup cost through a small TCP relay that holds each new connection's bytes for that long
 * before forwarding: 0 is bare loopback, 40 stands in for TCP + TLS 1.3 (two round trips) at a 20 ms RTT.
 * Writes bench/results/pools-latest.json and docs/benchmarks/pools.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PoolMaintenance, type PoolSettings } from '../src/providers/pool-maintenance';
import { UpstreamClient } from '../src/providers/upstream.client';
import { percentile } from './lib/load';
import * as px from './lib/processes';

const ROOT = resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '30' },
    requests: { type: 'string', default: '20' },
    warm: { type: 'string', default: '4' },
    'setup-ms': { type: 'string', default: '0,40' },
  },
});
const TRIALS = Number(args.trials);
const REQUESTS = Number(args.requests);
const WARM = Number(args.warm);
const SETUPS = args['setup-ms'].split(',').map(Number);
const BODY = JSON.stringify({
  model: 'fake-model',
  max_tokens: 16,
  messages: [{ role: 'user', content: 'hi' }],
});
const SETTINGS: PoolSettings = {
  warmup: true,
  warmConnections: WARM,
  warmupTimeoutMs: 5000,
  healthPingMs: 0,
  autoTune: true,
  minConnections: 4,
  maxConnections: 256,
  tuneIntervalMs: 5000,
};
const QUIET = { debug: () => undefined, info: () => undefined, warn: () => undefined };

type Pattern = 'sequential' | 'burst';
type Mode = 'cold' | 'warm';

interface Cell {
  setupMs: number;
  pattern: Pattern;
  mode: Mode;
  /** TTFB of request #1, over the trials. */
  firstP50: number;
  firstP95: number;
  /** Mean TTFB of the first N requests of a trial, over the trials. */
  meanP50: number;
  meanP95: number;
  /** Slowest of the first N requests, over the trials. */
  maxP50: number;
  /** Connections the client had open after the trial. */
  connections: number;
}

interface Run {
  times: number[];
  connections: number;
}

/** Relays loopback TCP, holding each new connection for `delayMs` before its first byte goes through. */
async function setupDelayRelay(target: number, delayMs: number): Promise<{ port: number; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    client.pause();
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    setTimeout(() => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    }, delayMs);
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

async function ttfb(client: UpstreamClient, origin: string): Promise<number> {
  const started = performance.now();
  const res = await client.request({
    url: `${origin}/v1/chat/completions`,
    headers: { 'content-type': 'application/json' },
    body: BODY,
  });
  const ms = performance.now() - started;
  await res.body.dump();
  if (res.statusCode !== 200) {
    throw new Error(`fake answered ${res.statusCode}`);
  }
  return ms;
}

/** One trial: a fresh client (warmed or not), then the first REQUESTS requests. */
async function trial(origin: string, pattern: Pattern, mode: Mode): Promise<Run> {
  const client = new UpstreamClient({
    autoTune: { min: SETTINGS.minConnections, max: SETTINGS.maxConnections },
  });
  try {
    if (mode === 'warm') {
      const results = await new PoolMaintenance(client, SETTINGS, QUIET).warmUp([{ origin }], WARM);
      if (results[0].failed > 0) {
        throw new Error(`warm-up failed: ${results[0].error}`);
      }
      // A socket counts as free a tick after its warm-up answer; requests before that would open new ones.
      await new Promise((r) => setImmediate(r));
    }
    const times: number[] = [];
    if (pattern === 'burst') {
      times.push(...(await Promise.all(Array.from({ length: REQUESTS }, () => ttfb(client, origin)))));
    }
    while (times.length < REQUESTS) {
      times.push(await ttfb(client, origin));
    }
    return { times, connections: client.stats()[0]?.connected ?? 0 };
  } finally {
    await client.destroy();
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => percentile(sorted(xs), 50);
const p95 = (xs: number[]) => percentile(sorted(xs), 95);

async function measure(origin: string, setupMs: number): Promise<Cell[]> {
  const cells: Cell[] = [];
  for (const pattern of ['sequential', 'burst'] as Pattern[]) {
    const runs: Record<Mode, Run[]> = { cold: [], warm: [] };
    for (let t = 0; t < TRIALS; t++) {
      // Alternate the order so neither mode always runs on a machine the other just warmed up.
      const order: Mode[] = t % 2 === 0 ? ['cold', 'warm'] : ['warm', 'cold'];
      for (const mode of order) {
        runs[mode].push(await trial(origin, pattern, mode));
      }
    }
    for (const mode of ['cold', 'warm'] as Mode[]) {
      const firsts = runs[mode].map((r) => r.times[0]);
      const means = runs[mode].map((r) => r.times.reduce((a, b) => a + b, 0) / r.times.length);
      const maxes = runs[mode].map((r) => Math.max(...r.times));
      cells.push({
        setupMs,
        pattern,
        mode,
        firstP50: round(median(firsts)),
        firstP95: round(p95(firsts)),
        meanP50: round(median(means)),
        meanP95: round(p95(means)),
        maxP50: round(median(maxes)),
        connections: Math.round(median(runs[mode].map((r) => r.connections))),
      });
    }
  }
  return cells;
}

function table(cells: Cell[]): string {
  const head =
    `| setup | pattern | pool | #1 TTFB p50 | #1 TTFB p95 | mean of ${REQUESTS} p50 | mean of ${REQUESTS} p95 | ` +
    `slowest of ${REQUESTS} p50 | sockets |\n` +
    '|---:|---|---|---:|---:|---:|---:|---:|---:|';
  const rows = cells.map(
    (c) =>
      `| ${c.setupMs} ms | ${c.pattern} | ${c.mode} | ${c.firstP50} ms | ${c.firstP95} ms | ${c.meanP50} ms | ` +
      `${c.meanP95} ms | ${c.maxP50} ms | ${c.connections} |`,
  );
  return [head, ...rows].join('\n');
}

function saving(cells: Cell[], setupMs: number, pattern: Pattern, key: keyof Cell & `${string}P50`): string {
  const pick = (mode: Mode) =>
    cells.find((c) => c.setupMs === setupMs && c.pattern === pattern && c.mode === mode);
  const cold = pick('cold');
  const warm = pick('warm');
  if (!cold || !warm) {
    return 'n/a';
  }
  return `${(cold[key] - warm[key]).toFixed(2)} ms`;
}

function doc(cells: Cell[], startedAt: string, machine: px.MachineInfo, load: string): string {
  const s = (setup: number) =>
    `- **${setup} ms setup:** request #1 is ${saving(cells, setup, 'sequential', 'firstP50')} faster warm ` +
    `(sequential) and the mean of the first ${REQUESTS} ${saving(cells, setup, 'sequential', 'meanP50')} lower; in a burst ` +
    `of ${REQUESTS} the slowest request gains ${saving(cells, setup, 'burst', 'maxP50')} (only ${WARM} of the ` +
    `${REQUESTS} sockets were warm).`;
  return `# Warm upstream pools benchmark

Generated by \`npm run bench:pools\` (bench/pools.ts) on ${startedAt}. Raw numbers: \`bench/results/pools-latest.json\`.

## Method

- The fake provider (\`scripts/fake-provider.ts\`) in its own process, plain HTTP on 127.0.0.1 (TLS off),
  zero first-byte delay; requests are small non-stream \`POST /v1/chat/completions\`.
- Each trial builds a fresh \`UpstreamClient\` (auto-tune on, ${SETTINGS.minConnections}–${SETTINGS.maxConnections} connections). **cold**: the ${REQUESTS}
  requests start on an empty pool. **warm**: \`PoolMaintenance.warmUp\` first opens ${WARM} sockets (\`GET /\`,
  what the gateway does at startup with \`Pools.warmConnections: ${WARM}\`), then the same requests.
  TTFB = from \`request()\` to the response headers. ${TRIALS} trials per cell, cold and warm alternating.
- **sequential**: one request after the other. Cold, this opens two sockets, not one: undici marks a socket
  free a tick after its response ends, so the second request, sent right away, finds none free.
  **burst**: all ${REQUESTS} at once (${REQUESTS - WARM} of them need a new socket even when warm).
- **sockets**: connections the client had open at the end of a trial (median).
- **setup**: 0 ms is bare loopback. Larger values put a TCP relay in front of the fake that holds each new
  connection for that long before forwarding — a stand-in for TCP + TLS handshakes to a real provider
  (40 ms ≈ two round trips at 20 ms RTT); it adds nothing to requests on an open socket.
- Machine: ${machine.cpuModel}, ${machine.cores} cores, Node.js ${machine.node}; load average when the run
  started: ${load} (other work shared the cores: read small differences as noise).

## Results

${table(cells)}

${SETUPS.map(s).join('\n')}

## Reading it

- On bare loopback a new connection (socket, undici client, the fake's accept) costs about a millisecond
  here, so warm-up saves ${saving(cells, 0, 'sequential', 'firstP50')} on the first request: real, but noise next to any LLM call. The
  burst rows at 0 ms are dominated by 20 requests sharing two busy cores, not by connection setup.
- The win is the connection setup a real upstream charges: with a simulated ${SETUPS[SETUPS.length - 1]} ms setup the cold
  first request pays it in full and the warm one does not. Against a TLS provider over the internet that is
  typically 50–300 ms on the first request after startup — and after every idle period longer than the
  keep-alive, which is what \`Pools.healthPingMs\` prevents.
- A burst larger than \`Pools.warmConnections\` still opens the rest cold; raise it for bursty clients.
`;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(os.tmpdir(), 'switchyard-bench-pools-'));
  px.installCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  const port = await px.freePort();
  const fake = px.spawnChild(
    'fake-provider',
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/fake-provider.ts',
      '--port',
      String(port),
      '--max-recorded',
      '16',
      '--no-bodies',
    ],
    { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, logFile: join(tmp, 'fake.log') },
  );
  const startedAt = new Date().toISOString();
  const load = os.loadavg()[0].toFixed(2);
  const cells: Cell[] = [];
  try {
    await px.waitForHttp(`http://127.0.0.1:${port}/__fake/health`, fake);
    for (const setupMs of SETUPS) {
      const relay = setupMs > 0 ? await setupDelayRelay(port, setupMs) : undefined;
      const origin = `http://127.0.0.1:${relay?.port ?? port}`;
      await trial(origin, 'sequential', 'warm'); // JIT and the fake's first-request costs, not measured
      cells.push(...(await measure(origin, setupMs)));
      await new Promise<void>((r) => (relay ? relay.server.close(() => r()) : r()));
    }
  } finally {
    await px.stopChild(fake);
  }
  const machine = px.machineInfo();
  console.log(table(cells));
  const result = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    loadAverage: load,
    options: { trials: TRIALS, requests: REQUESTS, warm: WARM, setupMs: SETUPS },
    cells,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/pools-latest.json'), JSON.stringify(result, null, 2) + '\n');
  mkdirSync(join(ROOT, 'docs/benchmarks'), { recursive: true });
  writeFileSync(join(ROOT, 'docs/benchmarks/pools.md'), doc(cells, startedAt, machine, load));
  console.log('\nwrote bench/results/pools-latest.json and docs/benchmarks/pools.md');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
