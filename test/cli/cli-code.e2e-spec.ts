import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureGateway } from '../../src/cli/background-gateway';
import type { CliContext } from '../../src/cli/cli-context';
import { CliError } from '../../src/cli/cli-context';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { fakeProviders } from '../support/gateway';
import { writeConfig } from '../support/gateway-process';
import { freePort } from '../support/redis-server';
import { cliEnv, isLive, runCli, spawnCli, tempHome, transcript, waitUntil } from './cli-process';

/** One real Claude Code run: gateway start (first run only) plus the CLI itself, on a busy 2-core machine. */
const CLAUDE_RUN_MS = 240_000;
const ANSWER = 'Hello from fake provider';

interface PidRecord {
  pid: number;
  url: string;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** A stand-in for claude (CLAUDE_PATH): prints its argv and environment, or waits for / dies of a signal. */
function writeStandIn(dir: string): string {
  const file = join(dir, 'fake-claude.js');
  writeFileSync(
    file,
    [
      `#!${process.execPath}`,
      "const mode = process.env.FAKE_CLAUDE_MODE || 'print';",
      "if (mode === 'wait') {",
      "  process.on('SIGTERM', () => { process.stdout.write('got SIGTERM\\n'); process.exit(42); });",
      "  process.stdout.write('waiting\\n');",
      '  setInterval(() => {}, 1000);',
      "} else if (mode === 'die') {",
      "  process.kill(process.pid, 'SIGTERM');",
      '  setInterval(() => {}, 1000);',
      '} else {',
      '  const e = process.env;',
      '  const env = { ANTHROPIC_BASE_URL: e.ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN: e.ANTHROPIC_AUTH_TOKEN,',
      '    ANTHROPIC_API_KEY: e.ANTHROPIC_API_KEY ?? null, API_TIMEOUT_MS: e.API_TIMEOUT_MS, NO_PROXY: e.NO_PROXY,',
      '    MY_OWN_VARIABLE: e.MY_OWN_VARIABLE };',
      "  process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), env }) + '\\n');",
      "  process.exitCode = Number(e.FAKE_CLAUDE_EXIT || '0');",
      '}',
      '',
    ].join('\n'),
  );
  chmodSync(file, 0o755);
  return file;
}

describe('switchyard code', () => {
  let fake: FakeProvider;
  let home: string;
  let cwd: string;
  let url: string;
  let pidFile: string;
  let logFile: string;
  let env: NodeJS.ProcessEnv;
  let standIn: string;

  beforeAll(async () => {
    fake = await startFakeProvider();
    home = tempHome();
    // Claude Code runs in its own empty folder: no CLAUDE.md or settings of this repository.
    cwd = mkdtempSync(join(tmpdir(), 'sy-cli-cwd-'));
    standIn = writeStandIn(mkdtempSync(join(tmpdir(), 'sy-cli-bin-')));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    pidFile = join(home, '.switchyard', `gateway-${port}.pid`);
    logFile = join(home, '.switchyard', `gateway-${port}.log`);
    const slots = ['default', 'think', 'background', 'longContext', 'webSearch', 'image'];
    const config = writeConfig({
      PORT: port,
      Providers: fakeProviders(fake.url),
      Router: {
        ...Object.fromEntries(slots.map((s) => [s, 'openai,gpt-fake'])),
        longContextThreshold: 60000,
      },
    });
    env = cliEnv(home, { SWITCHYARD_CONFIG: config, SWITCHYARD_START_TIMEOUT_MS: '150000' });
  });

  afterAll(async () => {
    // Whatever a failed test left behind: the background gateway of this HOME goes.
    const record = existsSync(pidFile) ? (JSON.parse(readFileSync(pidFile, 'utf8')) as PidRecord) : undefined;
    if (record && isAlive(record.pid)) {
      process.kill(record.pid, 'SIGTERM');
      await waitUntil(() => !isAlive(record.pid), 30_000, 'the background gateway to exit').catch(() =>
        process.kill(record.pid, 'SIGKILL'),
      );
    }
    await fake.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  it(
    'code -p "say hi": starts a gateway in the background, runs the real claude through it, exit 0',
    async () => {
      expect(await isLive(url)).toBe(false);
      const run = await runCli(['code', '-p', 'say hi'], { env, cwd, timeoutMs: CLAUDE_RUN_MS });
      expect(transcript(run)).toMatchObject({ code: 0 });
      expect(run.stdout.trim()).toBe(ANSWER);
      expect(run.stderr).toContain(`starting the gateway in the background (log: ${logFile})`);
      expect(run.stderr).toContain(`gateway ready at ${url}`);

      const generations = fake.requests.filter((r) => r.api === 'openai');
      expect(generations.length).toBeGreaterThanOrEqual(1);
      expect(generations.map((r) => r.model)).toEqual(generations.map(() => 'gpt-fake'));
      // The gateway outlives claude, detached, recorded in its pid file, logging to its file.
      const record = JSON.parse(readFileSync(pidFile, 'utf8')) as PidRecord;
      expect(record.url).toBe(url);
      expect(isAlive(record.pid)).toBe(true);
      expect(await isLive(url)).toBe(true);
      expect(readFileSync(logFile, 'utf8')).toContain(`switchyard code: starting the gateway on ${url}`);
    },
    CLAUDE_RUN_MS,
  );

  it(
    'a second code reuses the running gateway',
    async () => {
      const before = JSON.parse(readFileSync(pidFile, 'utf8')) as PidRecord;
      fake.reset();
      const run = await runCli(['code', '-p', 'say hi again'], { env, cwd, timeoutMs: CLAUDE_RUN_MS });
      expect(transcript(run)).toMatchObject({ code: 0 });
      expect(run.stdout.trim()).toBe(ANSWER);
      expect(run.stderr).not.toContain('starting the gateway');
      expect((JSON.parse(readFileSync(pidFile, 'utf8')) as PidRecord).pid).toBe(before.pid);
      expect(fake.requests.filter((r) => r.api === 'openai').length).toBeGreaterThanOrEqual(1);
    },
    CLAUDE_RUN_MS,
  );

  it(
    'an argument claude rejects: claude’s own message and non-zero exit code come through',
    async () => {
      const run = await runCli(['code', '--definitely-not-a-flag'], { env, cwd, timeoutMs: CLAUDE_RUN_MS });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("unknown option '--definitely-not-a-flag'");
    },
    CLAUDE_RUN_MS,
  );

  describe('with CLAUDE_PATH pointing at a stand-in', () => {
    it('passes every argument verbatim (-- and --help included) and points claude at the gateway', async () => {
      const args = ['--', '--help', '-p', 'two words', '--model=openai,gpt-fake', ''];
      const run = await runCli(['code', ...args], {
        env: { ...env, CLAUDE_PATH: standIn, ANTHROPIC_API_KEY: 'sk-ant-real', MY_OWN_VARIABLE: 'kept' },
        cwd,
      });
      expect(transcript(run)).toMatchObject({ code: 0 });
      const seen = JSON.parse(run.stdout);
      expect(seen.argv).toEqual(args);
      expect(seen.env).toEqual({
        ANTHROPIC_BASE_URL: url,
        ANTHROPIC_AUTH_TOKEN: 'switchyard',
        ANTHROPIC_API_KEY: null,
        API_TIMEOUT_MS: '600000',
        NO_PROXY: '127.0.0.1',
        MY_OWN_VARIABLE: 'kept',
      });
    });

    it('keeps claude’s exit code, maps death by signal to 128+n, and 127 when claude is missing', async () => {
      const seven = await runCli(['code'], {
        env: { ...env, CLAUDE_PATH: standIn, FAKE_CLAUDE_EXIT: '7' },
        cwd,
      });
      expect(seven.code).toBe(7);
      const killed = await runCli(['code'], {
        env: { ...env, CLAUDE_PATH: standIn, FAKE_CLAUDE_MODE: 'die' },
        cwd,
      });
      expect(killed.code).toBe(128 + 15);
      const missing = await runCli(['code'], {
        env: { ...env, CLAUDE_PATH: join(cwd, 'no-such-claude') },
        cwd,
      });
      expect(missing.code).toBe(127);
      expect(missing.stderr).toContain('cannot run Claude Code');
    });

    it('forwards SIGTERM to claude and exits with the code claude then exits with', async () => {
      const proc = spawnCli(['code'], {
        env: { ...env, CLAUDE_PATH: standIn, FAKE_CLAUDE_MODE: 'wait' },
        cwd,
      });
      await waitUntil(() => proc.stdout().includes('waiting'), 60_000, 'the stand-in to start');
      proc.child.kill('SIGTERM');
      const run = await proc.done;
      expect(transcript(run)).toMatchObject({ code: 42 });
      expect(run.stdout).toContain('got SIGTERM');
    });
  });

  it('status reports the background gateway; stop stops it and removes its pid file', async () => {
    const status = await runCli(['status', '--json'], { env });
    expect(transcript(status)).toMatchObject({ code: 0 });
    const record = JSON.parse(readFileSync(pidFile, 'utf8')) as PidRecord;
    expect(JSON.parse(status.stdout)).toMatchObject({ url, reachable: true, ready: true, pid: record.pid });

    const stop = await runCli(['stop'], { env, timeoutMs: 90_000 });
    expect(transcript(stop)).toMatchObject({ code: 0 });
    expect(stop.stdout).toContain(`stopped the background gateway on ${url} (pid ${record.pid})`);
    expect(isAlive(record.pid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    expect(await isLive(url)).toBe(false);
    const again = await runCli(['stop'], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('no background gateway is running');
  }, 120_000);

  it('refuses a port taken by something that is not Switchyard (a CCR still running, say)', async () => {
    const server: Server = createServer((_req, res) => res.writeHead(404).end('Not Found'));
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const run = await runCli(['code', '-p', 'hi'], {
        env: { ...env, PORT: String(port), CLAUDE_PATH: standIn },
        cwd,
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `http://127.0.0.1:${port} is taken by something that is not a Switchyard gateway`,
      );
      expect(run.stderr).toContain('ccr stop');
      expect(run.stdout).toBe('');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('the background start of `switchyard code`, when the gateway does not come up', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sy-cli-ensure-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** `self` runs this script instead of the CLI: it stands for a gateway that fails or hangs at boot. */
  async function ensureWith(
    script: string,
    startTimeoutMs: number,
  ): Promise<{ error: CliError; log: string }> {
    const file = join(dir, 'gateway.js');
    writeFileSync(file, script);
    const port = await freePort();
    const ctx: CliContext = {
      io: { stdout: () => undefined, stderr: () => undefined },
      env: { HOME: dir },
      cwd: dir,
      self: { execPath: process.execPath, execArgv: [], script: file },
    };
    const error = await ensureGateway(
      ctx,
      { url: `http://127.0.0.1:${port}`, host: '127.0.0.1', port },
      {
        startTimeoutMs,
        say: () => undefined,
      },
    ).then(
      () => {
        throw new Error('expected ensureGateway to fail');
      },
      (err: unknown) => err as CliError,
    );
    return { error, log: join(dir, '.switchyard', `gateway-${port}.log`) };
  }

  it('a gateway that exits at boot: the exit code, the log path and the log’s last lines', async () => {
    const { error, log } = await ensureWith(
      "console.error('switchyard: invalid configuration: boom'); process.exit(3);\n",
      60_000,
    );
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toContain('the gateway stopped (exit code 3) before it answered');
    expect(error.message).toContain(`log: ${log}`);
    expect(error.message).toContain('| switchyard: invalid configuration: boom');
  });

  it('a gateway that never answers: stopped after the start timeout, with the log path', async () => {
    const { error, log } = await ensureWith(
      "console.log('booting forever'); process.on('SIGTERM', () => { console.log('stopped'); process.exit(0); }); setInterval(() => {}, 1000);\n",
      1500,
    );
    expect(error.message).toContain('did not answer');
    expect(error.message).toContain('within 1500 ms; stopped it');
    expect(error.message).toContain(`log: ${log}`);
    await waitUntil(
      () => readFileSync(log, 'utf8').includes('stopped'),
      10_000,
      'the hung gateway to be stopped',
    );
  });
});
