import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { builtEntry } from './gateway-build';

const ROOT = resolve(__dirname, '..', '..');

export interface GatewayProcess {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Runs the real entry point as its own process, the way `npm start` does: the e2e run's JavaScript build of
 * src/main.ts (test/support/gateway-build.ts), else src/main.ts through ts-node.
 */
export function runGateway(env: Record<string, string>, args: string[] = []): GatewayProcess {
  const built = builtEntry();
  const entry = built ? [built] : ['-r', 'ts-node/register/transpile-only', 'src/main.ts'];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'sy-home-')), ...env },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

export async function waitForHealth(url: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${url}/health/live`);
      if (res.status === 200) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway at ${url} did not become live`);
}

/** Writes a user config file for a spawned gateway; returns its path. */
export function writeConfig(config: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sy-cfg-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}
