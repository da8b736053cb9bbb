/**
 * `npm run check:docker`: builds and runs docker/Dockerfile without a Docker engine.
 *
 * Every stage gets a scratch root directory; the Dockerfile's instructions run there in order, as written:
 * COPY from the context (honouring .dockerignore) or from an earlier stage's root, WORKDIR, ENV, RUN through
 * /bin/sh -c in the WORKDIR with the stage's ENV (and its cache and secret mounts). The machine's Node stands
 * in for the `node:<major>-…` base images (same major required). The final stage's CMD then runs with its ENV
 * and WORKDIR on a free port, the HEALTHCHECK command itself is run until it passes, and the STOPSIGNAL must
 * make the process exit 0 within the stop timeout. Any instruction or option outside the supported subset
 * stops the run (scripts/docker/dockerfile.ts).
 *
 * What it cannot prove: the base images' own content (packages, users, glibc), file ownership (COPY --chown)
 * and USER (the steps run as the invoking user), the network namespace (HOST is overridden to 127.0.0.1) and
 * image layering. docs/deploy.md lists the limits.
 *
 * Usage: tsx scripts/docker-dryrun.ts [-f docker/Dockerfile] [--context .] [--secret id=npmrc,src=~/.npmrc]
 *          [--stop-timeout 35] [--keep]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { DockerfileError, parseDockerfile } from './docker/dockerfile';
import { DockerIgnore } from './docker/dockerignore';
import { DryRunError, log, report, type Options, type StageState } from './docker/dryrun-context';
import { duSize, runFinalImage } from './docker/image-run';
import { buildStage } from './docker/stage-builder';

const REPO = resolve(__dirname, '..');

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    dockerfile: join(REPO, 'docker', 'Dockerfile'),
    context: REPO,
    secrets: new Map(),
    stopTimeoutMs: 35_000,
    keep: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[i + 1];
      if (v === undefined) {
        throw new DryRunError(`${arg} needs a value`);
      }
      i += 1;
      return v;
    };
    if (arg === '-f' || arg === '--file') {
      opts.dockerfile = resolve(value());
    } else if (arg === '--context') {
      opts.context = resolve(value());
    } else if (arg === '--secret') {
      const spec = new Map(
        value()
          .split(',')
          .map((p) => p.split('=') as [string, string]),
      );
      const id = spec.get('id');
      const src = spec.get('src') ?? spec.get('source');
      if (!id || !src) {
        throw new DryRunError('--secret needs id=<id>,src=<file>');
      }
      opts.secrets.set(id, resolve(src));
    } else if (arg === '--stop-timeout') {
      opts.stopTimeoutMs = Number(value()) * 1000;
    } else if (arg === '--keep') {
      opts.keep = true;
    } else {
      throw new DryRunError(`unknown argument ${arg}`);
    }
  }
  return opts;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const stages = parseDockerfile(readFileSync(opts.dockerfile, 'utf8'));
  const ignoreFile = join(opts.context, '.dockerignore');
  const ignore = new DockerIgnore(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '');
  const work = mkdtempSync(join(tmpdir(), 'switchyard-docker-dryrun-'));
  log(
    `docker dry run: ${relative(process.cwd(), opts.dockerfile)}, ${stages.length} stages, work dir ${work}`,
  );
  let ok = false;
  try {
    const states: StageState[] = [];
    for (const stage of stages) {
      states.push(await buildStage(stage, states, stages, opts, work, ignore));
    }
    const final = states[states.length - 1];
    log(`final stage root: ${duSize(final.root)} (${final.stage.base}'s own files not included)`);
    await runFinalImage(final, opts, work);
    ok = true;
  } finally {
    if (!opts.keep) {
      rmSync(work, { recursive: true, force: true });
    }
    log('');
    log(`docker dry run ${ok ? 'PASSED' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const s of report.steps) {
      log(`  ${(s.ms / 1000).toFixed(1).padStart(6)} s  ${s.what}`);
    }
    for (const c of report.checks) {
      log(`  ✓ ${c}`);
    }
    for (const n of report.notes) {
      log(`  note: ${n}`);
    }
    if (opts.keep) {
      log(`  kept: ${work}`);
    }
  }
}

main().catch((err: unknown) => {
  const known = err instanceof DryRunError || err instanceof DockerfileError;
  process.stderr.write(`docker dry run: ${known ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
});
