/**
 * The proof suite: one command for every benchmark scenario.
 *
 *   npm run bench -- --scenario <name|list|all> --duration smoke|short|long [--compare ccr] [--quick]
 *
 * Each scenario starts its own fake provider(s), redis-server, gateway instance(s) (`node dist/main.js`) and load,
 * stops everything it started (also on errors and Ctrl-C), and writes bench/results/suite/<scenario>-*.json,
 * docs/benchmarks/suite/<scenario>.md, docs/benchmarks/images/<scenario>-*.png and docs/benchmarks/README.md.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as px from './lib/processes';
import { writeJson } from './lib/report';
import { ensureBuild } from './lib/services';
import { snapshotBuild, SuiteCtx, type RunOptions } from './suite/context';
import { latestFile, RESULTS_DIR, writeReadme, writeScenarioDoc } from './suite/docs';
import { ALL_SCENARIOS } from './suite/scenarios';
import type { ScenarioDef } from './suite/scenario';
import { SCENARIOS, type DurationMode, type SuiteResult } from './suite/types';

const ROOT = resolve(__dirname, '..');

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'all' },
    duration: { type: 'string', default: 'short' },
    quick: { type: 'boolean', default: false },
    compare: { type: 'string' },
    'quiet-wait': { type: 'string' },
    'keep-tmp': { type: 'boolean', default: false },
    'readme-only': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const USAGE = `npm run bench -- [options]        (builds first; or: npx tsx bench/run.ts)
  --scenario LIST     ${SCENARIOS.join(', ')} (comma-separated) or all (default all)
  --duration MODE     smoke | short | long (default short)
  --quick             the same as --duration smoke: every scenario for a few seconds at low rates
  --compare ccr       also run overhead and concurrent against Claude Code Router (npm run bench:ccr-install)
  --quiet-wait S      wait up to S s for other processes to go quiet before each measured phase (default 10; smoke 0)
  --keep-tmp          keep each scenario's temp dir (configs, logs, heap snapshots)
  --readme-only       regenerate docs/benchmarks/README.md from the latest results and exit
Writes ${RESULTS_DIR}/<scenario>-<timestamp>.json and -latest.json, docs/benchmarks/suite/<scenario>.md,
docs/benchmarks/images/<scenario>-*.png and docs/benchmarks/README.md. See docs/benchmarks/README.md.`;

const log = (s: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);

function codeVersion(): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !==
      '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return undefined;
  }
}

function selected(): ScenarioDef[] {
  const names = args.scenario === 'all' ? [...SCENARIOS] : args.scenario.split(',').map((s) => s.trim());
  return names.map((n) => {
    const def = ALL_SCENARIOS.find((d) => d.name === n);
    if (!def) {
      throw new Error(`--scenario: unknown "${n}" (${SCENARIOS.join(', ')}, all)`);
    }
    return def;
  });
}

let current: SuiteCtx | undefined;
/** Set on Ctrl-C / SIGTERM: the scenario being torn down must not write a half result over the latest one. */
let interrupted = false;
process.once('SIGINT', () => (interrupted = true));
process.once('SIGTERM', () => (interrupted = true));

async function runOne(
  def: ScenarioDef,
  o: RunOptions,
  version: string | undefined,
  buildNote: string | undefined,
): Promise<boolean> {
  const startedAt = new Date();
  log(`== ${def.name} (${o.mode}) ==`);
  const sampleMs = typeof def.sampleMs === 'function' ? def.sampleMs(o.mode) : (def.sampleMs ?? 1000);
  const ctx = (current = new SuiteCtx(def.name, o, (s) => log(`${def.name}: ${s}`), sampleMs));
  let error: string | undefined;
  let out: Awaited<ReturnType<ScenarioDef['run']>> | undefined;
  try {
    out = await def.run(ctx);
  } catch (err) {
    error = (err as Error).message.split('\n').slice(0, 3).join(' ');
    log(`${def.name} failed: ${(err as Error).stack ?? String(err)}`);
  }
  const left = await ctx.close();
  current = undefined;
  if (interrupted) {
    return false;
  }
  const notes = [...ctx.notes, ...(out?.notes ?? [])];
  if (buildNote) {
    notes.push(buildNote);
  }
  if (left.length > 0) {
    notes.push(`still running after the scenario stopped its processes, killed: ${left.join(', ')}`);
  }
  if (ctx.otherLoadCores > 0.2) {
    notes.push(
      `other processes on the machine used up to ${ctx.otherLoadCores.toFixed(1)} cores during measured phases: latencies and throughput are depressed and noisy.`,
    );
  }
  const finishedAt = new Date();
  const result: SuiteResult & { error?: string } = {
    scenario: def.name,
    title: def.title,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMode: o.mode,
    wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    machine: px.machineInfo(),
    codeVersion: version,
    options: out?.options ?? {},
    processes: out?.processes ?? [],
    targets: out?.targets ?? [],
    findings: out?.findings ?? [],
    tables: out?.tables ?? [],
    charts: out?.charts ?? [],
    notes,
    otherLoadCores: ctx.otherLoadCores,
    cleanStop: left.length === 0,
    data: out?.data ?? {},
    ...(error ? { error } : {}),
  };
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  writeJson(join(ROOT, RESULTS_DIR, `${def.name}-${stamp}.json`), result);
  writeJson(latestFile(ROOT, def.name), result);
  const doc = writeScenarioDoc(ROOT, def, result);
  writeReadme(ROOT, ALL_SCENARIOS);
  const met = result.targets.filter((t) => t.met === true).length;
  const measured = result.targets.filter((t) => t.met !== null).length;
  log(
    `${def.name}: ${error ? 'FAILED' : 'done'} in ${Math.round(result.wallSeconds)} s; targets met ${met}/${measured}; ${doc.slice(ROOT.length + 1)}${left.length > 0 ? `; LEFT RUNNING: ${left.join(', ')}` : ''}`,
  );
  for (const t of result.targets) {
    log(`  ${t.met === null ? '–  ' : t.met ? 'yes' : 'NO '} ${t.target}: ${t.measured}`);
  }
  return !error;
}

async function main(): Promise<number> {
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args['readme-only']) {
    log(`wrote ${writeReadme(ROOT, ALL_SCENARIOS)}`);
    return 0;
  }
  const mode = (args.quick ? 'smoke' : args.duration) as DurationMode;
  if (!['smoke', 'short', 'long'].includes(mode)) {
    throw new Error(`--duration: "${mode}" is not smoke, short or long`);
  }
  if (args.compare !== undefined && args.compare !== 'ccr') {
    throw new Error(`--compare: only "ccr" is supported`);
  }
  const defs = selected();
  const o: RunOptions = {
    root: ROOT,
    mode,
    compareCcr: args.compare === 'ccr',
    quietWaitS: Number(args['quiet-wait'] ?? (mode === 'smoke' ? 0 : 10)),
    keepTmp: args['keep-tmp'],
  };
  const buildNote = ensureBuild({ root: ROOT, tmp: ROOT, model: '', log });
  const build = snapshotBuild(ROOT);
  o.gatewayEntry = build.entry;
  px.installCleanup(() => {
    if (current && !o.keepTmp) {
      rmSync(current.tmp, { recursive: true, force: true });
    }
    build.remove();
  });
  const version = codeVersion();
  let failures = 0;
  for (const def of defs) {
    if (!(await runOne(def, o, version, buildNote))) {
      failures++;
    }
  }
  log(
    `wrote docs/benchmarks/README.md (${defs.length} scenario(s) run${failures > 0 ? `, ${failures} failed` : ''})`,
  );
  return failures > 0 ? 1 : 0;
}

main()
  .then((code) => process.exit(code))
  .catch(async (err: unknown) => {
    console.error(`bench: ${(err as Error).stack ?? String(err)}`);
    await px.stopAll();
    process.exit(1);
  });
