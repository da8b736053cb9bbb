/** What the dry run's steps share: options, the per-stage state, the report, and the stage's environment. */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { CommandForm, HealthcheckSpec, Stage } from './dockerfile';

/** Users of the official node images and their homes (/etc/passwd of node:*-bookworm*). */
const IMAGE_USERS: Record<string, string> = {
  root: '/root',
  '0': '/root',
  node: '/home/node',
  '1000': '/home/node',
};

/**
 * The machine's network settings, which a builder's network would carry: the proxy variables Docker passes to
 * builds as predefined build arguments, and the extra CA roots of a TLS-intercepting proxy.
 */
const PASSTHROUGH = [
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
];

export interface Options {
  dockerfile: string;
  context: string;
  secrets: Map<string, string>;
  stopTimeoutMs: number;
  keep: boolean;
}

export interface StageState {
  stage: Stage;
  root: string;
  env: Record<string, string>;
  workdir: string;
  user: string;
  cmd?: CommandForm;
  entrypoint?: CommandForm;
  healthcheck?: HealthcheckSpec | 'NONE';
  stopSignal: NodeJS.Signals;
  exposed: string[];
}

export class DryRunError extends Error {}

/** Timings, passed checks and notes, printed as the summary. */
export const report = {
  steps: [] as { what: string; ms: number }[],
  notes: [] as string[],
  checks: [] as string[],
};

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

export async function timed<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
  const started = Date.now();
  log(`▶ ${what}`);
  const result = await fn();
  const ms = Date.now() - started;
  report.steps.push({ what, ms });
  log(`  done in ${(ms / 1000).toFixed(1)} s`);
  return result;
}

/** A path inside a stage ('/app', 'src') → the directory that stands for it under the stage root. */
export function inStage(state: StageState, path: string): string {
  const abs = posix.resolve(state.workdir, path);
  return join(state.root, abs);
}

export function tail(file: string, lines = 40): string {
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

export function baseEnv(state: StageState): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSTHROUGH) {
    const v = process.env[name];
    if (v !== undefined) {
      env[name] = v;
    }
  }
  // The image's global npm prefix (/usr/local) lives in the stage root; its bin comes before the machine's.
  env.PATH = `${join(state.root, 'usr/local/bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  env.npm_config_prefix = join(state.root, 'usr/local');
  env.HOME = join(state.root, homeOf(state.user));
  env.TMPDIR = join(state.root, 'tmp');
  mkdirSync(env.HOME, { recursive: true });
  mkdirSync(env.TMPDIR, { recursive: true });
  return { ...env, ...state.env };
}

export function homeOf(user: string): string {
  const home = IMAGE_USERS[user.split(':')[0]];
  if (!home) {
    throw new DryRunError(
      `USER ${user}: not a user of the node base image (known: ${Object.keys(IMAGE_USERS).join(', ')})`,
    );
  }
  return home;
}

export function argvOf(command: CommandForm): string[] {
  return 'exec' in command ? command.exec : ['/bin/sh', '-c', command.shell];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
