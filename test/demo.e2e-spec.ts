import Anthropic from '@anthropic-ai/sdk';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const STARTUP_MS = 120_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `pattern` appears in the collected output; rejects if the process exits first. */
function waitForOutput(
  child: ChildProcess,
  output: () => string,
  pattern: RegExp,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output()}`)),
      timeoutMs,
    );
    const check = () => pattern.test(output()) && done();
    const exited = (code: number | null) => done(new Error(`demo exited (${code}) early:\n${output()}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.off('exit', exited);
      if (err) {
        reject(err);
      } else {
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', exited);
    check();
  });
}

describe('npm run demo (scripts/demo.ts)', () => {
  let demo: ChildProcess;
  let out = '';
  let err = '';
  const output = () => `${out}\n--- stderr ---\n${err}`;

  beforeAll(async () => {
    demo = spawn(TSX, ['scripts/demo.ts', '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    demo.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
    demo.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
    await waitForOutput(demo, output, /Press Ctrl-C to stop/, STARTUP_MS);
  }, STARTUP_MS + 5000);

  afterAll(() => {
    if (demo.exitCode === null && demo.signalCode === null) {
      demo.kill('SIGKILL');
    }
    const pid = /gateway\s+\S+\s+\(pid (\d+)\)/.exec(out)?.[1];
    if (pid && alive(Number(pid))) {
      process.kill(Number(pid), 'SIGKILL');
    }
  });

  it('prints the base URL, a curl command and the answer of running it', () => {
    expect(out).toMatch(/export ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:\d+\n/);
    expect(out).toMatch(
      /curl -sS http:\/\/127\.0\.0\.1:\d+\/v1\/messages -H 'content-type: application\/json' -d '\{.*\}'/,
    );
    expect(out).toContain('curl answered: "Hello from fake provider"');
    expect(out).toContain('examples/demo-config.json');
    expect(out).toContain('docs/providers.md');
    expect(err).not.toMatch(/error/i);
  });

  it('answers an Anthropic SDK client at the printed base URL, through the configured routes', async () => {
    const baseURL = /export ANTHROPIC_BASE_URL=(\S+)/.exec(out)?.[1];
    const client = new Anthropic({ baseURL, authToken: 'demo', apiKey: null, maxRetries: 0 });
    const { data, response } = await client.messages
      .create({ model: 'claude-opus-4-8', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] })
      .withResponse();
    expect(data.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake provider' });
    expect(response.headers.get('x-switchyard-target')).toBe('fake-openai,gpt-fake');

    const thinking = await client.messages
      .create({
        model: 'claude-opus-4-8',
        max_tokens: 2048,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: 'think' }],
      })
      .withResponse();
    expect(thinking.response.headers.get('x-switchyard-target')).toBe('fake-anthropic,claude-fake');
  });

  it('stops the gateway and the fake provider on SIGINT', async () => {
    const gatewayPid = Number(/gateway\s+\S+\s+\(pid (\d+)\)/.exec(out)?.[1]);
    const fakeUrl = /fake provider\s+(\S+)/.exec(out)?.[1];
    expect(alive(gatewayPid)).toBe(true);
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('demo: stopped');
    expect(alive(gatewayPid)).toBe(false);
    await expect(fetch(`${fakeUrl}/v1/models`)).rejects.toThrow();
  }, 30_000);

  it('ships a comment-free JSON demo config with all three provider kinds', () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'examples', 'demo-config.json'), 'utf8'));
    const urls = config.Providers.map((p: { api_base_url: string }) => p.api_base_url);
    expect(urls).toEqual([
      '${FAKE_PROVIDER_URL}/v1/chat/completions',
      '${FAKE_PROVIDER_URL}/v1/messages',
      '${FAKE_PROVIDER_URL}/v1beta/models/',
    ]);
    expect(config.Router.default).toBe('fake-openai,gpt-fake');
  });
});
