import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeProvider, type FakeProvider } from './fake-provider';
import { fakeProviders } from './support/gateway';
import { freePort } from './support/redis-server';

const ROOT = resolve(__dirname, '..');

interface Running {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs the real entry point (src/main.ts) as its own process, the way `npm start` does. */
function runGateway(env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'sy-home-')), ...env },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function waitForHealth(url: string, timeoutMs = 30_000): Promise<void> {
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

describe('the gateway process', () => {
  it('starts on embedded defaults with no configuration and no Redis, and says so', async () => {
    const port = await freePort();
    const gw = runGateway({ PORT: String(port), NODE_ENV: 'production' });
    try {
      await waitForHealth(`http://127.0.0.1:${port}`);
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(200);
      expect(gw.output()).toContain('no providers configured yet');
      expect(gw.output()).toContain('Redis not configured');
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  });

  it('exits with code 1 and names the key path and file of an invalid config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-bad-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ Providers: [{ name: 'x', api_base_url: 'nope', models: ['m'] }] }));
    const gw = runGateway({ SWITCHYARD_CONFIG: file, NODE_ENV: 'production' });
    expect(await gw.exited).toBe(1);
    expect(gw.output()).toContain('Providers[0].api_base_url');
    expect(gw.output()).toContain(file);
    expect(gw.output()).not.toMatch(/at .*\(.*\.ts:\d+/);
  });

  describe('on SIGTERM', () => {
    let fake: FakeProvider;
    beforeAll(async () => {
      fake = await startFakeProvider();
    });
    afterAll(() => fake.close());

    it('finishes an in-flight streamed answer, refuses new work, then exits', async () => {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'sy-cfg-'));
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ Providers: fakeProviders(fake.url), Router: { default: 'openai,gpt-fake' } }));
      const gw = runGateway({ SWITCHYARD_CONFIG: file, PORT: String(port), NODE_ENV: 'production' });
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitForHealth(url);
        const slow = fetch(`${url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'claude-x',
            max_tokens: 50,
            stream: true,
            messages: [{ role: 'user', content: 'Hi [[fake:{"chunkCount":6,"chunkGapMs":150}]]' }],
          }),
        }).then((r) => r.text());
        while (fake.inFlight() === 0) {
          await new Promise((r) => setTimeout(r, 20));
        }
        gw.child.kill('SIGTERM');
        const body = await slow;
        expect(body).toContain('event: message_stop');
        expect(body).not.toContain('event: error');
        await gw.exited;
        await expect(fetch(`${url}/health/live`)).rejects.toThrow();
        expect(gw.output()).toContain('shutting down');
      } finally {
        gw.child.kill('SIGKILL');
      }
    });
  });
});
