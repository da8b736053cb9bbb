import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

/** Where the e2e run's JavaScript build of src/ goes: a child of the root, at dist/'s depth (config/ resolves alike). */
export const E2E_BUILD_DIR = join(ROOT, '.e2e-build');

/**
 * Emits src/ once per e2e run (tsc without type checking, ~10 s: `npm run typecheck` checks the types), so that
 * every spawned gateway process starts from JavaScript, as `node dist/main.js` does, instead of transpiling the
 * whole of src/ again through ts-node on each boot (15-35 s of CPU each on the 2-core CI box).
 */
export function buildGatewayForE2e(): void {
  rmSync(E2E_BUILD_DIR, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', E2E_BUILD_DIR, '--noCheck', '--sourceMap', 'false'],
    { cwd: ROOT, stdio: 'inherit' },
  );
}

/** The built entry point when this run built one (global setup), else undefined (ts-node then). */
export function builtEntry(): string | undefined {
  const main = join(E2E_BUILD_DIR, 'main.js');
  return process.env.SWITCHYARD_E2E_BUILD === E2E_BUILD_DIR && existsSync(main) ? main : undefined;
}
