import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileError, parseDockerfile, type Instruction } from '../../scripts/docker/dockerfile';
import { DockerIgnore } from '../../scripts/docker/dockerignore';
import { startTestApp, type TestApp } from '../support/test-app';
import { freePort } from '../support/redis-server';
import { REPO, readImage, runCommand } from './deploy-support';

/**
 * docker/Dockerfile without a Docker engine: its shape (stages, user, probes, signals) and the reader that
 * scripts/docker-dryrun.ts (npm run check:docker) relies on. The dry run itself builds and boots the image.
 */
describe('docker/Dockerfile', () => {
  const image = readImage();
  const runs = (stageName: string): string[] =>
    image.stages
      .find((s) => s.name === stageName)
      ?.instructions.filter((i): i is Extract<Instruction, { kind: 'RUN' }> => i.kind === 'RUN')
      .map((i) => ('shell' in i.command ? i.command.shell : i.command.exec.join(' '))) ?? [];

  it('installs, builds and prunes in build stages and runs on node:20-bookworm-slim', () => {
    expect(image.stages.map((s) => s.name)).toEqual(['deps', 'build', 'runtime']);
    expect(runs('deps').some((r) => /^npm ci\b/.test(r))).toBe(true);
    expect(runs('build')).toEqual(
      expect.arrayContaining(['npm run build', expect.stringMatching(/^npm prune --omit=dev/)]),
    );
    expect(image.final.base).toBe('node:20-bookworm-slim');
    // No RUN in the runtime stage: no compiler, no package manager step, nothing the dry run cannot mirror.
    expect(image.final.instructions.filter((i) => i.kind === 'RUN')).toEqual([]);
    const fromBuild = image.final.instructions.filter((i) => i.kind === 'COPY' && i.from === 'build');
    expect(fromBuild.map((i) => (i.kind === 'COPY' ? i.sources[0] : ''))).toEqual(
      expect.arrayContaining(['/app/node_modules', '/app/dist', '/app/package.json']),
    );
  });

  it('runs as the non-root node user with NODE_ENV=production and the config folder in place', () => {
    expect(image.user).toBe('node');
    expect(image.env.NODE_ENV).toBe('production');
    expect(image.workdir).toBe('/app');
    expect(image.contextCopies.get('/app/config')).toBe('config');
    const cmd = image.final.instructions.find((i) => i.kind === 'CMD');
    // Exec form: node is PID 1 and receives SIGTERM itself (src/main.ts drains on it).
    expect(cmd && 'command' in cmd && cmd.command).toEqual({ exec: ['node', 'dist/main.js'] });
    expect(image.final.instructions.find((i) => i.kind === 'STOPSIGNAL')).toMatchObject({
      signal: 'SIGTERM',
    });
  });

  describe('HEALTHCHECK command', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ logLevel: 'silent' });
    });
    afterAll(() => app.close());

    it('passes against a live gateway on $PORT and fails when nothing answers', async () => {
      expect(image.healthcheck.join(' ')).toContain('/health/live');
      const port = new URL(app.url).port;
      expect(await runCommand(image.healthcheck, { PORT: port })).toBe(0);
      expect(await runCommand(image.healthcheck, { PORT: String(await freePort()) })).not.toBe(0);
    });
  });

  it('keeps everything the build copies in the context and leaves the rest out (.dockerignore)', () => {
    const ignore = new DockerIgnore(readFileSync(join(REPO, '.dockerignore'), 'utf8'));
    const copied = image.stages.flatMap((s) =>
      s.instructions.flatMap((i) => (i.kind === 'COPY' && i.from === undefined ? i.sources : [])),
    );
    expect(copied).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.build.json', 'src', 'config']),
    );
    for (const source of copied) {
      expect([source, ignore.ignores(source)]).toEqual([source, false]);
    }
    expect(ignore.ignores('src/main.ts')).toBe(false);
    expect(ignore.ignores('config/production.json')).toBe(false);
    for (const path of [
      'node_modules/x/index.js',
      '.git/HEAD',
      'dist/main.js',
      'test/a.e2e-spec.ts',
      '.env',
      'src/a/b.spec.ts',
    ]) {
      expect([path, ignore.ignores(path)]).toEqual([path, true]);
    }
  });

  describe('the reader scripts/docker-dryrun.ts uses', () => {
    it('fails loudly on what it cannot run', () => {
      for (const text of [
        'FROM node:20\nADD x /x',
        'ARG V=1\nFROM node:20',
        'FROM node:20\nSHELL ["/bin/bash", "-c"]',
        'FROM node:20\nRUN --mount=type=bind,source=.,target=/src ls',
        'FROM node:20\nRUN --network=none ls',
        'FROM node:20\nRUN <<EOF\nls\nEOF',
        'FROM --platform=linux/amd64 node:20',
        'FROM node:20\nCOPY --exclude=x . .',
      ]) {
        expect(() => parseDockerfile(text)).toThrow(DockerfileError);
      }
    });

    it('reads continuations, comments inside them, both ENV forms, mounts and exec forms', () => {
      const [stage] = parseDockerfile(
        [
          '# syntax=docker/dockerfile:1.7',
          'FROM node:20 AS base',
          'ENV A=1 B="two words"',
          'ENV LEGACY some value',
          'RUN --mount=type=cache,target=/root/.npm \\',
          '    # a comment inside the continuation',
          '    npm ci',
          'HEALTHCHECK --interval=5s --timeout=1s CMD ["node", "-e", "1"]',
          'CMD ["node", "dist/main.js"]',
        ].join('\n'),
      );
      expect(stage.name).toBe('base');
      expect(stage.instructions[0]).toMatchObject({
        kind: 'ENV',
        pairs: [
          ['A', '1'],
          ['B', 'two words'],
        ],
      });
      expect(stage.instructions[1]).toMatchObject({ kind: 'ENV', pairs: [['LEGACY', 'some value']] });
      expect(stage.instructions[2]).toMatchObject({
        kind: 'RUN',
        command: { shell: 'npm ci' },
        mounts: [{ type: 'cache', target: '/root/.npm', required: false }],
      });
      expect(stage.instructions[3]).toMatchObject({
        kind: 'HEALTHCHECK',
        check: { intervalMs: 5000, timeoutMs: 1000, retries: 3, command: { exec: ['node', '-e', '1'] } },
      });
    });
  });
});
