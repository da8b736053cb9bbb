/** Result types of the overhead benchmark, the markdown tables, the targets and docs/benchmarks/overhead.md. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatProfileSummary, type ProfileSummary } from '../profile-summary';
import type { BodyName } from './bodies';
import type { LoadResult, TtfbStats } from './load';
import type { MachineInfo } from './processes';

export type Mode = 'nonstream' | 'stream';

export interface Cell {
  body: BodyName;
  mode: Mode;
  concurrency: number;
  logLevel: string;
  /** otherLoadCores: CPU used by processes other than the harness, fake and gateway during the run (cores). */
  direct: LoadResult & { fakeCpuUsPerReq: number; loadgenCpuUsPerReq: number; otherLoadCores: number };
  gateway: LoadResult & {
    cpuUsPerReq: number;
    fakeCpuUsPerReq: number;
    loadgenCpuUsPerReq: number;
    otherLoadCores: number;
    rssMb: number;
    peakRssMb: number;
    /** Measurement window on the monotonic clock (µs), to cut a CPU profile. */
    windowUs: [number, number];
  };
  added: { p50: number; p95: number; p99: number };
}

export interface TtfbCell {
  body: BodyName;
  direct: TtfbStats;
  gateway: TtfbStats;
  addedP50: number;
  addedP99: number;
}

export interface TokenCell {
  body: BodyName;
  bytes: number;
  /** First count in a process whose tokenizer was never warmed (the gateway warms at boot). */
  unwarmedFirstMs?: number;
  /** Warmed tokenizer, empty memo: a body never seen before. */
  coldFirstMs: number;
  coldMedianMs: number;
  /** The same body again (memo hits). */
  warmMedianMs: number;
  /** The body plus one more turn after it was counted once (the next request of a conversation). */
  nextTurnMedianMs: number;
}

export interface RunResult {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  options: Record<string, unknown>;
  bodies: { name: BodyName; label: string; bytes: number; path: string }[];
  cells: Cell[];
  variantCells: Cell[];
  ttfb: TtfbCell[];
  tokens: TokenCell[];
  notes: string[];
  /** A bare node:http server parsing the same JSON body, c=64: what one request costs on this box at least. */
  baseline?: { body: BodyName; rps: number; cpuUsPerReq: number; otherLoadCores: number };
}

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const ms = (n: number) => (n >= 100 ? f0(n) : n >= 10 ? f1(n) : f2(n));
const LABEL: Record<BodyName, string> = { small: '1 KB', cc: '75 KB CC', big: '400 KB CC' };

function errs(c: Cell): string {
  const d = c.direct.errors + c.direct.timeouts + c.direct.non2xx;
  const g = c.gateway.errors + c.gateway.timeouts + c.gateway.non2xx;
  return d + g === 0 ? '0' : `**direct ${d} / gw ${g}**`;
}

export function cellsTable(cells: Cell[]): string {
  const head =
    '| body | mode | c | direct req/s | gateway req/s | direct p50 / p95 / p99 ms | gateway p50 / p95 / p99 ms | ' +
    'added p50 / p99 ms | gw CPU µs/req | fake CPU µs/req (direct / via gw) | gw RSS / peak MB | errors | other load, cores (direct / gw) |';
  const sep = '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const rows = cells.map((c) =>
    [
      LABEL[c.body],
      c.mode === 'stream' ? 'stream' : 'non-stream',
      c.concurrency,
      f0(c.direct.rps),
      f0(c.gateway.rps) + (fewSamples(c) ? ' †' : ''),
      `${ms(c.direct.p50)} / ${ms(c.direct.p95)} / ${ms(c.direct.p99)}`,
      `${ms(c.gateway.p50)} / ${ms(c.gateway.p95)} / ${ms(c.gateway.p99)}`,
      `${ms(c.added.p50)} / ${ms(c.added.p99)}`,
      f0(c.gateway.cpuUsPerReq),
      `${f0(c.direct.fakeCpuUsPerReq)} / ${f0(c.gateway.fakeCpuUsPerReq)}`,
      `${f0(c.gateway.rssMb)} / ${f0(c.gateway.peakRssMb)}`,
      errs(c),
      `${f1(c.direct.otherLoadCores)} / ${f1(c.gateway.otherLoadCores)}`,
    ].join(' | '),
  );
  const foot = cells.some(fewSamples)
    ? [
        '',
        '† fewer than 4 × c gateway responses completed in the window: percentiles describe the survivors ' +
          '(added latency can even be negative), and CPU/request includes the work on requests abandoned ' +
          'in flight when the run stopped.',
      ]
    : [];
  return [head, sep, ...rows.map((r) => `| ${r} |`), ...foot].join('\n');
}

function fewSamples(c: Cell): boolean {
  return c.gateway.requests < 4 * c.concurrency;
}

export function ttfbTable(rows: TtfbCell[]): string {
  return [
    '| body | n | direct first byte p50 / p99 ms | gateway first byte p50 / p99 ms | **added p50 / p99 ms** | gateway headers p50 ms | whole stream p50 direct / gw ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${LABEL[r.body]} | ${r.gateway.n} | ${f2(r.direct.p50)} / ${f2(r.direct.p99)} | ${f2(r.gateway.p50)} / ${f2(r.gateway.p99)} | ` +
        `**${f2(r.addedP50)} / ${f2(r.addedP99)}** | ${f2(r.gateway.headersP50)} | ${f2(r.direct.totalP50)} / ${f2(r.gateway.totalP50)} |`,
    ),
  ].join('\n');
}

export function tokensTable(rows: TokenCell[]): string {
  return [
    '| body | bytes | unwarmed process, first call ms | cold memo: first / median ms | warm (same body) median ms | next turn (body + 1 turn) median ms |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${LABEL[r.body]} | ${f0(r.bytes)} | ${r.unwarmedFirstMs === undefined ? '–' : f1(r.unwarmedFirstMs)} | ` +
        `${f2(r.coldFirstMs)} / ${f2(r.coldMedianMs)} | ${f2(r.warmMedianMs)} | ${f2(r.nextTurnMedianMs)} |`,
    ),
  ].join('\n');
}

export interface TargetRow {
  target: string;
  measured: string;
  met: boolean | null;
}

export function evaluateTargets(r: RunResult): TargetRow[] {
  const cell = (body: BodyName, mode: Mode, c: number) =>
    r.cells.find((x) => x.body === body && x.mode === mode && x.concurrency === c);
  const rows: TargetRow[] = [];
  const check = (target: string, value: number | undefined, ok: (v: number) => boolean, fmt: (v: number) => string) =>
    rows.push(
      value === undefined || !Number.isFinite(value)
        ? { target, measured: 'not measured', met: null }
        : { target, measured: fmt(value), met: ok(value) },
    );
  const s64 = cell('small', 'nonstream', 64);
  const s64s = cell('small', 'stream', 64);
  check('1 KB non-stream c=64 ≥ 4,500 req/s', s64?.gateway.rps, (v) => v >= 4500, (v) => `${f0(v)} req/s`);
  check('1 KB non-stream c=64: gateway CPU ≤ 250 µs/req', s64?.gateway.cpuUsPerReq, (v) => v <= 250, (v) => `${f0(v)} µs`);
  check('1 KB stream c=64: gateway CPU ≤ 250 µs/req', s64s?.gateway.cpuUsPerReq, (v) => v <= 250, (v) => `${f0(v)} µs`);
  const tt = r.ttfb.find((x) => x.body === 'small');
  check('1 KB stream c=1: added TTFB p50 ≤ 0.5 ms', tt?.addedP50, (v) => v <= 0.5, (v) => `${f2(v)} ms`);
  check('1 KB non-stream c=64: added p99 ≤ 30 ms', s64?.added.p99, (v) => v <= 30, (v) => `${f1(v)} ms`);
  check('1 KB stream c=64: added p99 ≤ 30 ms', s64s?.added.p99, (v) => v <= 30, (v) => `${f1(v)} ms`);
  const cc64 = cell('cc', 'nonstream', 64);
  check('75 KB CC non-stream c=64 ≥ 1,000 req/s', cc64?.gateway.rps, (v) => v >= 1000, (v) => `${f0(v)} req/s`);
  check('75 KB CC non-stream c=64: gateway CPU ≤ 1 ms/req', cc64?.gateway.cpuUsPerReq, (v) => v <= 1000, (v) => `${f0(v)} µs`);
  for (const c of [1, 64]) {
    for (const mode of ['nonstream', 'stream'] as Mode[]) {
      const b = cell('big', mode, c);
      const label = mode === 'stream' ? 'stream' : 'non-stream';
      check(`400 KB CC ${label} c=${c}: added p99 ≤ 40 ms`, b?.added.p99, (v) => v <= 40, (v) => `${f1(v)} ms`);
    }
  }
  return rows;
}

export function targetsTable(rows: TargetRow[]): string {
  return [
    '| target | measured | met |',
    '|---|---:|:---:|',
    ...rows.map((t) => `| ${t.target} | ${t.measured} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`),
  ].join('\n');
}

function ccrTable(r: RunResult): string {
  const c = (body: BodyName, mode: Mode) => r.cells.find((x) => x.body === body && x.mode === mode && x.concurrency === 64);
  const s = c('small', 'nonstream');
  const ss = c('small', 'stream');
  const cc = c('cc', 'nonstream');
  const v = (x: number | undefined, fmt: (n: number) => string) => (x === undefined ? 'not measured' : fmt(x));
  return [
    '| c=64 | Claude Code Router 2.0.0 (reference, similar box) | Switchyard (this run) |',
    '|---|---:|---:|',
    `| 1 KB non-stream req/s | ~1,100 | ${v(s?.gateway.rps, f0)} |`,
    `| 1 KB stream req/s | ~830 | ${v(ss?.gateway.rps, f0)} |`,
    `| 1 KB CPU per request | ~1,000 µs | ${v(s?.gateway.cpuUsPerReq, (n) => `${f0(n)} µs`)} |`,
    `| 1 KB non-stream p99 | 415 ms | ${v(s?.gateway.p99, (n) => `${ms(n)} ms`)} |`,
    `| 75 KB Claude Code non-stream req/s | ~54 | ${v(cc?.gateway.rps, f0)} |`,
    `| 75 KB Claude Code CPU per request | ~19 ms | ${v(cc?.gateway.cpuUsPerReq, (n) => `${f2(n / 1000)} ms`)} |`,
    `| 75 KB Claude Code non-stream p99 | 7.7 s | ${v(cc?.gateway.p99, (n) => `${ms(n)} ms`)} |`,
  ].join('\n');
}

/** The tables printed to stdout at the end of a run. */
export function consoleReport(r: RunResult): string {
  const parts = ['## Throughput and latency', '', cellsTable(r.cells), ''];
  if (r.baseline) {
    parts.push(`Baseline node:http server: ${f0(r.baseline.rps)} req/s, ${f0(r.baseline.cpuUsPerReq)} µs CPU/req`, '');
  }
  if (r.variantCells.length > 0) {
    parts.push(`### LOG_LEVEL=${r.variantCells[0].logLevel} variant`, '', cellsTable(r.variantCells), '');
  }
  if (r.ttfb.length > 0) {
    parts.push('## Time to first byte (stream, c=1)', '', ttfbTable(r.ttfb), '');
  }
  if (r.tokens.length > 0) {
    parts.push('## Token estimator, event-loop blocking', '', tokensTable(r.tokens), '');
  }
  parts.push('## Targets', '', targetsTable(evaluateTargets(r)), '');
  return parts.join('\n');
}

export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
}

export function writeDoc(path: string, r: RunResult, method: string, profile?: ProfileSummary): void {
  const m = r.machine;
  const doc = [
    '# Gateway overhead benchmark',
    '',
    `Generated by \`npm run bench:overhead\` (bench/overhead.ts) on ${r.finishedAt}. Raw numbers: ` +
      '`bench/results/overhead-latest.json`. How to run: [bench/README.md](../../bench/README.md).',
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores (load generator, fake provider and gateway share them)`,
    `- memory ${m.memoryGb} GB, ${m.kernel}, Node.js ${m.node}, CLK_TCK ${m.clockTicks}`,
    `- options: \`${JSON.stringify(r.options)}\``,
    ...(r.baseline
      ? [
          `- calibration: a bare \`node:http\` server that reads and \`JSON.parse\`s the ${LABEL[r.baseline.body]} body ` +
            `and answers 11 bytes costs **${f0(r.baseline.cpuUsPerReq)} µs CPU per request** here ` +
            `(${f0(r.baseline.rps)} req/s at c=64, other load ${f1(r.baseline.otherLoadCores)} cores) — ` +
            'the floor any Node.js gateway pays per request on this box',
        ]
      : []),
    '',
    '## Method',
    '',
    method,
    '',
    ...(r.notes.length > 0 ? ['Notes on this run:', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
    '## Targets',
    '',
    targetsTable(evaluateTargets(r)),
    '',
    '## Compared with Claude Code Router 2.0.0',
    '',
    ccrTable(r),
    '',
    '## Throughput and latency (direct = fake provider alone, gateway = through Switchyard)',
    '',
    cellsTable(r.cells),
    '',
    ...(r.variantCells.length > 0
      ? [
          `### Variant: LOG_LEVEL=${r.variantCells[0].logLevel} (one access-log line per request, to a file)`,
          '',
          cellsTable(r.variantCells),
          '',
        ]
      : []),
    '## Time to first byte (stream, concurrency 1, sequential undici client)',
    '',
    r.ttfb.length > 0 ? ttfbTable(r.ttfb) : 'not measured in this run',
    '',
    '## Token estimator: event-loop blocking',
    '',
    '`countRequestTokens` (src/protocol/tokens.ts) runs synchronously on every request (routing needs the ' +
      'count); its duration is how long the event loop is blocked. Measured in the harness process.',
    '',
    r.tokens.length > 0 ? tokensTable(r.tokens) : 'not measured in this run',
    '',
    '## Hot spots found',
    '',
    profile
      ? `CPU profile of the gateway (\`--cpu-prof\`) during the measured window of the ${profile.cell ?? '?'} cell ` +
        '(warm-up and boot excluded; a separate run, so its own req/s are not in the tables above). ' +
        'Percentages are of busy (non-idle) samples.\n\n' +
        formatProfileSummary(profile)
      : 'No profile yet: `npm run bench:overhead -- --cpu-prof --only cc --mode nonstream --concurrency 64`.',
    '',
  ].join('\n');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, doc);
}
