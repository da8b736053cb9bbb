/** The contract between the runner (bench/run.ts) and one scenario module (bench/suite/scenarios/*.ts). */
import type { SuiteCtx } from './context';
import type { DurationMode, ScenarioName, SuiteResult } from './types';

export type ScenarioOutput = Pick<
  SuiteResult,
  'options' | 'processes' | 'targets' | 'findings' | 'tables' | 'charts' | 'notes' | 'data'
>;

export interface ScenarioDef {
  name: ScenarioName;
  title: string;
  /** One or two sentences for the README: what this scenario proves. */
  summary: string;
  /** The targets as the issue states them (shown even before the first run). */
  goals: string[];
  /** Markdown: how it is measured (processes, load, what each number is). */
  method: string;
  /** Durations per mode, one line for the README's table (e.g. "5 s / 60 s / 5 min per phase"). */
  durations: string;
  /** Resource sampling interval of the monitor (default 1000 ms). */
  sampleMs?: number | ((mode: DurationMode) => number);
  /** Runs the scenario; `ctx.close()` is the runner's job. */
  run(ctx: SuiteCtx): Promise<ScenarioOutput>;
}
