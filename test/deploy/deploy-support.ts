import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { loadConfig, type LoadedConfig } from '../../src/config/load-config';
import { lastOf, parseDockerfile, stageEnv, type Stage } from '../../scripts/docker/dockerfile';

export const REPO = resolve(__dirname, '..', '..');

/** The image as docker/Dockerfile describes it: the final stage, its ENV, WORKDIR, USER and HEALTHCHECK. */
export interface ImageFacts {
  stages: Stage[];
  final: Stage;
  env: Record<string, string>;
  workdir: string;
  user: string;
  /** Exec-form HEALTHCHECK command. */
  healthcheck: string[];
  /** Container paths the image fills from the build context (`COPY config ./config` → /app/config ← config). */
  contextCopies: Map<string, string>;
}

export function readImage(): ImageFacts {
  const stages = parseDockerfile(readFileSync(join(REPO, 'docker', 'Dockerfile'), 'utf8'));
  const final = stages[stages.length - 1];
  let workdir = '/';
  const contextCopies = new Map<string, string>();
  for (const ins of final.instructions) {
    if (ins.kind === 'WORKDIR') {
      workdir = posix.resolve(workdir, ins.path);
    }
    if (ins.kind === 'COPY' && ins.from === undefined && ins.sources.length === 1) {
      contextCopies.set(posix.resolve(workdir, ins.dest), ins.sources[0]);
    }
  }
  const check = lastOf(stages, final, 'HEALTHCHECK')?.check;
  if (!check || check === 'NONE' || !('exec' in check.command)) {
    throw new Error('docker/Dockerfile has no exec-form HEALTHCHECK');
  }
  return {
    stages,
    final,
    env: stageEnv(stages, final),
    workdir,
    user: lastOf(stages, final, 'USER')?.user ?? 'root',
    healthcheck: check.command.exec,
    contextCopies,
  };
}

/**
 * A container's filesystem as far as the config loader sees it: container paths mapped to files in a scratch
 * directory. Starts with what the image copies from the build context, then mounts overlay it.
 */
export class ContainerFiles {
  readonly root = mkdtempSync(join(tmpdir(), 'sy-deploy-fs-'));

  constructor(image: ImageFacts) {
    for (const [containerPath, source] of image.contextCopies) {
      this.copyIn(containerPath, join(REPO, source));
    }
  }

  hostPath(containerPath: string): string {
    return join(this.root, posix.resolve('/', containerPath));
  }

  copyIn(containerPath: string, hostSource: string): void {
    const target = this.hostPath(containerPath);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(hostSource, target, { recursive: true });
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  write(containerPath: string, content: string): void {
    const target = this.hostPath(containerPath);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}

/**
 * Runs the real loader the way the container's `node dist/main.js` would: configDir is the image's
 * <WORKDIR>/config (with any mounts over it), SWITCHYARD_CONFIG is read through the mounts, and HOME is an
 * empty directory so nothing of the machine's user is picked up. The scratch files are removed afterwards.
 */
export function loadLikeContainer(
  image: ImageFacts,
  files: ContainerFiles,
  env: Record<string, string>,
): LoadedConfig {
  const home = mkdtempSync(join(tmpdir(), 'sy-deploy-home-'));
  const effective: Record<string, string> = { ...env, HOME: home };
  if (env.SWITCHYARD_CONFIG) {
    effective.SWITCHYARD_CONFIG = files.hostPath(env.SWITCHYARD_CONFIG);
  }
  try {
    return loadConfig({ env: effective, configDir: files.hostPath(posix.join(image.workdir, 'config')) });
  } finally {
    rmSync(home, { recursive: true, force: true });
    files.remove();
  }
}

/** Runs an exec-form command (a HEALTHCHECK) with the given environment; resolves to its exit code. */
export function runCommand(
  argv: string[],
  env: Record<string, string>,
  timeoutMs = 10_000,
): Promise<number | null> {
  return new Promise((res) => {
    const child = spawn(argv[0] === 'node' ? process.execPath : argv[0], argv.slice(1), {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      res(code);
    });
  });
}

/** `30s`, `1m30s`, `500ms` → milliseconds (compose and Docker durations). */
export function durationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(m[1]) * units[m[2]];
  }
  return total;
}
