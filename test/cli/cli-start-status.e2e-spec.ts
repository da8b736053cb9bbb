import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { fakeProviders } from '../support/gateway';
import { writeConfig } from '../support/gateway-process';
import { freePort } from '../support/redis-server';
import {
  cliEnv,
  isLive,
  runCli,
  spawnCli,
  tempHome,
  transcript,
  waitUntil,
  type CliProcess,
} from './cli-process';

const BOOT_MS = 90_000;

describe('switchyard CLI: help, version, env', () => {
  let home: string;
  beforeAll(() => (home = tempHome()));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('--help lists every command and exits 0; no command prints it and exits 2', async () => {
    const help = await runCli(['--help'], { env: cliEnv(home) });
    expect(transcript(help)).toMatchObject({ code: 0 });
    for (const command of [
      'start',
      'code',
      'env',
      'status',
      'stop',
      'report',
      'migrate-config',
      'migrate-to-redis',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect((await runCli([], { env: cliEnv(home) })).code).toBe(2);
  });

  it('--version prints the package version', async () => {
    const version = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'))
      .version as string;
    const run = await runCli(['--version'], { env: cliEnv(home) });
    expect(run).toMatchObject({ code: 0, stdout: `switchyard ${version}\n` });
  });

  it('has help per command (`help code`, `start --help`) and rejects unknown commands and options with 2', async () => {
    const code = await runCli(['help', 'code'], { env: cliEnv(home) });
    expect(code.code).toBe(0);
    expect(code.stdout).toContain('usage: switchyard code');
    const start = await runCli(['start', '--help'], { env: cliEnv(home) });
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('--role');
    const unknown = await runCli(['frobnicate'], { env: cliEnv(home) });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badOption = await runCli(['status', '--nope'], { env: cliEnv(home) });
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('usage: switchyard status');
  });

  it('env prints the export lines for the configured gateway (APIKEY as the token)', async () => {
    const config = writeConfig({ PORT: 4567, APIKEY: "it's-secret", API_TIMEOUT_MS: 120000 });
    const run = await runCli(['--config', config, 'env'], { env: cliEnv(home) });
    expect(transcript(run)).toMatchObject({ code: 0 });
    expect(run.stdout.split('\n')).toEqual([
      'export ANTHROPIC_BASE_URL=http://127.0.0.1:4567',
      "export ANTHROPIC_AUTH_TOKEN='it'\\''s-secret'",
      'export API_TIMEOUT_MS=120000',
      'export NO_PROXY=127.0.0.1',
      'unset ANTHROPIC_API_KEY',
      '',
    ]);
  });

  it('env without APIKEY gives a placeholder token; --shell fish and powershell; a bad --shell is 2', async () => {
    const env = cliEnv(home, { PORT: '4568', NO_PROXY: 'corp.example' });
    const fish = await runCli(['env', '--shell', 'fish'], { env });
    expect(fish.code).toBe(0);
    expect(fish.stdout).toContain("set -gx ANTHROPIC_BASE_URL 'http://127.0.0.1:4568'");
    expect(fish.stdout).toContain("set -gx ANTHROPIC_AUTH_TOKEN 'switchyard'");
    expect(fish.stdout).toContain("set -gx NO_PROXY '127.0.0.1,corp.example'");
    expect(fish.stdout).toContain('set -e ANTHROPIC_API_KEY');
    const ps = await runCli(['env', '--shell', 'powershell'], { env });
    expect(ps.stdout).toContain("$env:ANTHROPIC_BASE_URL = 'http://127.0.0.1:4568'");
    expect((await runCli(['env', '--shell', 'tcsh'], { env })).code).toBe(2);
  });

  it('status exits 1 when nothing answers (text on stderr, JSON on stdout)', async () => {
    const port = await freePort();
    const env = cliEnv(home, { PORT: String(port) });
    const text = await runCli(['status'], { env });
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`no gateway answers at http://127.0.0.1:${port}`);
    const json = await runCli(['status', '--json'], { env });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      url: `http://127.0.0.1:${port}`,
      reachable: false,
      ready: false,
    });
  });
});

describe('switchyard start / status', () => {
  let fake: FakeProvider;
  let home: string;
  beforeAll(async () => {
    fake = await startFakeProvider();
    home = tempHome();
  });
  afterAll(async () => {
    await fake.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** Stops a started gateway whatever happened in the test. */
  async function stop(gw: CliProcess): Promise<void> {
    if (gw.child.exitCode === null && gw.child.signalCode === null) {
      gw.child.kill('SIGKILL');
    }
    await gw.done;
  }

  it('start boots on --config/--port, writes the pid file, answers status (text and JSON), stops on SIGTERM', async () => {
    const port = await freePort();
    const config = writeConfig({
      APIKEY: 'cli-test-key',
      Providers: fakeProviders(fake.url),
      Router: { default: 'openai,gpt-fake', think: 'anthropic,claude-fake' },
    });
    const pidFile = join(home, 'run', 'gateway.pid');
    const env = cliEnv(home);
    const gw = spawnCli(['start', '--config', config, '--port', String(port), '--pid-file', pidFile], {
      env,
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntil(() => isLive(url), BOOT_MS, `the gateway on ${url}`);
      expect(JSON.parse(readFileSync(pidFile, 'utf8'))).toMatchObject({ pid: gw.child.pid, url });

      // The key comes from the same --config (global form), like every command that reads the configuration.
      const text = await runCli(['--config', config, 'status', '--url', url], { env });
      expect(transcript(text)).toMatchObject({ code: 0 });
      expect(text.stdout).toContain(`Switchyard at ${url}: ready (pid ${gw.child.pid}`);
      expect(text.stdout).toMatch(/^ {2}openai,gpt-fake +yes +1\.00 +closed/m);
      expect(text.stdout).toMatch(/^ {2}anthropic,claude-fake +yes/m);
      expect(text.stdout).toContain('hits 0, misses 0');
      expect(text.stdout).toMatch(/mode local, role all/);

      const json = await runCli(['--config', config, 'status', '--url', url, '--json'], { env });
      expect(json.code).toBe(0);
      const report = JSON.parse(json.stdout);
      expect(report).toMatchObject({ url, reachable: true, ready: true, pid: gw.child.pid });
      expect(report.sections.ready.body.details.config.userFile).toBe(config);
      expect(report.sections.providers.body.targets.map((t: { target: string }) => t.target)).toEqual(
        expect.arrayContaining(['openai,gpt-fake', 'anthropic,claude-fake']),
      );
      expect(report.sections.cache.body).toMatchObject({ hits: 0, misses: 0 });
      expect(report.sections.queue.body).toMatchObject({ role: 'all' });

      // Without the key the /api sections are refused: the gateway answers, the status is incomplete ⇒ 3.
      const noKey = await runCli(['status', '--url', url], { env });
      expect(noKey.code).toBe(3);
      expect(noKey.stdout).toContain('Missing API key');

      gw.child.kill('SIGTERM');
      const exit = await gw.done;
      // As `node dist/main.js`: a drained shutdown exits 0.
      expect(exit.code).toBe(0);
      expect(existsSync(pidFile)).toBe(false);
      expect(await isLive(url)).toBe(false);
    } finally {
      await stop(gw);
    }
  }, 180_000);

  it('start --role worker serves only probes and metrics; status says so and is still 0', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const gw = spawnCli(['start', '--role', 'worker', '--port', String(port)], { env: cliEnv(home) });
    try {
      await waitUntil(() => isLive(url), BOOT_MS, `the worker on ${url}`);
      const messages = await fetch(`${url}/v1/messages`, { method: 'POST', body: '{}' });
      expect(messages.status).toBe(404);
      expect(await messages.text()).toContain('worker node');
      const status = await runCli(['status', '--url', url], { env: cliEnv(home) });
      expect(transcript(status)).toMatchObject({ code: 0 });
      expect(status.stdout).toContain('(not served by a worker node)');
    } finally {
      gw.child.kill('SIGTERM');
      await stop(gw);
    }
  }, 180_000);

  it('start --role with an unknown role is a usage error', async () => {
    const run = await runCli(['start', '--role', 'boss'], { env: cliEnv(home) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--role must be api, worker or all');
  });
});
