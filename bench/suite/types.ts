/** The shapes shared by the proof-suite runner (bench/run.ts), its scenarios and its report writers. */
import type { MachineInfo } from '../lib/processes';

export type DurationMode = 'smoke' | 'short' | 'long';

export const SCENARIOS = [
  'overhead',
  'concurrent',
  'replay',
  'failover',
  'spike',
  'sustained',
  'redis-outage',
  'scale',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Target {
  target: string;
  measured: string;
  /** null: not measured (the reason is in `why`). */
  met: boolean | null;
  /** For a missed or unmeasured target: the reason, in one or two sentences. */
  why?: string;
}

export interface Table {
  title: string;
  markdown: string;
  /** A sentence or two under the table: what its numbers mean. */
  note?: string;
}

export interface Chart {
  title: string;
  /** Path relative to docs/benchmarks/ (images/<scenario>-<name>.png). */
  file: string;
  /** One sentence: what to look at. */
  caption?: string;
}

/** One sample of a process' resources (gateway, CCR, …) over the scenario's clock. */
export interface ProcSample {
  /** Seconds since the scenario's t0. */
  t: number;
  rssMb: number;
  /** From the monitor preload (gateways only). */
  heapUsedMb?: number;
  heapTotalMb?: number;
  /** Open file descriptors (/proc/<pid>/fd). */
  fds: number;
  /** CPU since the previous sample, cores. */
  cpuCores: number;
  /** Event-loop lag since the previous sample (monitor preload): p99 and max, ms. */
  lagP99Ms?: number;
  lagMaxMs?: number;
}

export interface ProcSeries {
  name: string;
  pid: number;
  samples: ProcSample[];
  /** Heap used right after two forced full GCs (sustained scenario), MB. */
  heapAfterGc?: { t: number; mb: number; gcMs: number }[];
}

export interface SuiteResult {
  scenario: ScenarioName;
  title: string;
  startedAt: string;
  finishedAt: string;
  durationMode: DurationMode;
  wallSeconds: number;
  machine: MachineInfo;
  /** git HEAD (+ "-dirty" when src/ has changes) of the code measured. */
  codeVersion?: string;
  /** The knobs of this run (rates, durations, sizes). */
  options: Record<string, unknown>;
  /** What ran: one line per process. */
  processes: string[];
  targets: Target[];
  /** Bullet points: what the numbers say. */
  findings: string[];
  tables: Table[];
  charts: Chart[];
  notes: string[];
  /** Highest CPU used by other processes on the machine during a measured phase, cores. */
  otherLoadCores: number;
  /** Every process the scenario started was gone at its end. */
  cleanStop: boolean;
  /** Scenario-specific numbers (raw, for re-analysis). */
  data: Record<string, unknown>;
}
