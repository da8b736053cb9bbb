/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): top functions by self time, self time by package / source
 * folder, and inclusive time of the gateway's own functions (dist/ frames mapped back to src/ through the
 * build's source maps).
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile | dir (newest file)> [--top 25] [--from-us N --to-us N]
 *
 * --from-us/--to-us restrict the samples to a window of the monotonic clock (µs, as process.hrtime), which
 * is how the overhead harness cuts the measured cell out of the whole process lifetime.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { SourceMap, type SourceMapping } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  location: string;
  ms: number;
  /** Percent of busy (non-idle) time in the window. */
  pct: number;
  /** Top self rows: the nearest caller outside Node internals (who caused this time). */
  via?: string;
}

export interface ProfileSummary {
  file: string;
  /** The benchmark cell whose window was summarised (set by the overhead harness). */
  cell?: string;
  windowMs: number;
  busyMs: number;
  idlePct: number;
  gcPct: number;
  top: ProfileRow[];
  byPackage: ProfileRow[];
  appInclusive: ProfileRow[];
}

const ROOT = resolve(__dirname, '..');
const maps = new Map<string, SourceMap | null>();

/** `file:///…/dist/x.js` line/col (0-based) → `src/x.ts:line` when a source map is there. */
function location(frame: CallFrame): string {
  if (!frame.url) {
    return '';
  }
  const line = frame.lineNumber + 1;
  if (!frame.url.startsWith('file://')) {
    return `${frame.url}:${line}`;
  }
  const file = fileURLToPath(frame.url);
  if (file.includes('/dist/') && !file.includes('/node_modules/')) {
    if (!maps.has(file)) {
      try {
        maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))));
      } catch {
        maps.set(file, null);
      }
    }
    // Node 20 returns {} when nothing maps.
    const entry: Partial<SourceMapping> | undefined = maps.get(file)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry?.originalSource) {
      const src = entry.originalSource.startsWith('file://')
        ? fileURLToPath(entry.originalSource)
        : resolve(dirname(file), entry.originalSource);
      return `${relative(ROOT, src)}:${(entry.originalLine ?? 0) + 1}`;
    }
  }
  return `${relative(ROOT, file)}:${line}`;
}

function packageOf(frame: CallFrame): string {
  const url = frame.url;
  if (!url) {
    // (garbage collector), (program), (idle) — or a V8 builtin / native binding.
    return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) {
    return nm[1];
  }
  if (url.startsWith('node:')) {
    return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  }
  const dist = /\/dist\/([^/]+)/.exec(url);
  if (dist) {
    return dist[1].endsWith('.js') ? `src/${dist[1].replace(/\.js$/, '.ts')}` : `src/${dist[1]}/`;
  }
  return url;
}

export function summarizeProfile(file: string, topN = 25, fromUs = -Infinity, toUs = Infinity): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) {
      parent.set(c, n.id);
    }
  }
  type Acc = { name: string; location: string; us: number; via?: Map<string, number> };
  const self = new Map<string, Acc>();
  const pkg = new Map<string, number>();
  const incl = new Map<string, Acc>();
  let windowUs = 0;
  let idleUs = 0;
  let gcUs = 0;
  const keyOf = (f: CallFrame) => `${f.functionName}|${f.url}|${f.lineNumber}`;
  const add = (m: typeof self, f: CallFrame, us: number) => {
    const k = keyOf(f);
    const row = m.get(k) ?? { name: f.functionName || '(anonymous)', location: location(f), us: 0 };
    row.us += us;
    m.set(k, row);
    return row;
  };
  const viaOf = (id: number): string | undefined => {
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const cf = byId.get(p)?.callFrame;
      if (cf?.url && !cf.url.startsWith('node:')) {
        return `${cf.functionName || '(anonymous)'} ${location(cf)}`;
      }
    }
    return undefined;
  };

  let t = profile.startTime;
  const n = profile.samples.length;
  for (let i = 0; i < n; i++) {
    t += profile.timeDeltas[i];
    // A sample stands for the time until the next one.
    const us = i + 1 < n ? profile.timeDeltas[i + 1] : 0;
    if (t < fromUs || t > toUs || us <= 0) {
      continue;
    }
    const node = byId.get(profile.samples[i]);
    if (!node) {
      continue;
    }
    windowUs += us;
    const f = node.callFrame;
    if (f.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    if (f.functionName === '(garbage collector)') {
      gcUs += us;
    }
    const row = add(self, f, us);
    const via = viaOf(node.id);
    if (via) {
      row.via ??= new Map();
      row.via.set(via, (row.via.get(via) ?? 0) + us);
    }
    const p = packageOf(f);
    pkg.set(p, (pkg.get(p) ?? 0) + us);
    // Inclusive time of the gateway's own functions: each distinct frame of the stack counts once.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const cf = byId.get(id)?.callFrame;
      if (cf && cf.url.includes('/dist/') && !cf.url.includes('/node_modules/') && !seen.has(keyOf(cf))) {
        seen.add(keyOf(cf));
        add(incl, cf, us);
      }
    }
  }
  const busyUs = Math.max(1, windowUs - idleUs);
  const rows = (m: Iterable<Acc>, limit: number): ProfileRow[] =>
    [...m]
      .sort((a, b) => b.us - a.us)
      .slice(0, limit)
      .map((r) => ({
        name: r.name,
        location: r.location,
        ms: r.us / 1000,
        pct: (100 * r.us) / busyUs,
        ...(r.via ? { via: [...r.via].sort((a, b) => b[1] - a[1])[0][0] } : {}),
      }));
  return {
    file: relative(ROOT, file),
    windowMs: windowUs / 1000,
    busyMs: busyUs / 1000,
    idlePct: (100 * idleUs) / Math.max(1, windowUs),
    gcPct: (100 * gcUs) / busyUs,
    top: rows(self.values(), topN),
    byPackage: rows(
      [...pkg].map(([name, us]) => ({ name, location: '', us })),
      15,
    ),
    appInclusive: rows(incl.values(), topN),
  };
}

export function formatProfileSummary(s: ProfileSummary): string {
  const table = (title: string, rows: ProfileRow[], kind: 'self' | 'pkg' | 'incl') =>
    [
      `${title}`,
      '',
      {
        self: '| # | % busy | ms | function | location | called via (nearest non-Node frame) |\n|---:|---:|---:|---|---|---|',
        pkg: '| # | % busy | ms | package / folder |\n|---:|---:|---:|---|',
        incl: '| # | % busy | ms | function | location |\n|---:|---:|---:|---|---|',
      }[kind],
      ...rows.map((r, i) => {
        const cols = [i + 1, r.pct.toFixed(1), r.ms.toFixed(0)];
        if (kind === 'pkg') {
          cols.push(r.name);
        } else {
          cols.push(`\`${r.name}\``, r.location || '(native)');
          if (kind === 'self') {
            cols.push(r.via ? r.via.replace(/^(\S+)/, '`$1`') : '');
          }
        }
        return `| ${cols.join(' | ')} |`;
      }),
      '',
    ].join('\n');
  return [
    `Profile \`${s.file}\`: window ${s.windowMs.toFixed(0)} ms, busy ${s.busyMs.toFixed(0)} ms ` +
      `(idle ${s.idlePct.toFixed(1)}%), GC ${s.gcPct.toFixed(1)}% of busy.`,
    '',
    table('Top functions by self time:', s.top, 'self'),
    table('Self time by package / source folder:', s.byPackage, 'pkg'),
    table('Gateway functions by inclusive time (self + callees):', s.appInclusive, 'incl'),
  ].join('\n');
}

/** The newest .cpuprofile in `dir` (of process `pid` when given: node names them CPU.<date>.<time>.<pid>.…). */
export function newestProfile(dir: string, pid?: number): string | undefined {
  if (!existsSync(dir)) {
    return undefined;
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && (pid === undefined || f.includes(`.${pid}.`)))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string' }, 'from-us': { type: 'string' }, 'to-us': { type: 'string' } },
  });
  const arg = positionals[0] ?? join(ROOT, 'bench/results/profiles');
  const file = existsSync(arg) && statSync(arg).isDirectory() ? newestProfile(arg) : arg;
  if (!file || !existsSync(file)) {
    console.error(`no .cpuprofile at ${arg}`);
    process.exit(1);
  }
  const from = values['from-us'] ? Number(values['from-us']) : -Infinity;
  const to = values['to-us'] ? Number(values['to-us']) : Infinity;
  console.log(formatProfileSummary(summarizeProfile(file, Number(values.top ?? 25), from, to)));
}

if (require.main === module) {
  main();
}
