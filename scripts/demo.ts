/**
 * `npm run demo -- [--port N] [--fake-port N] [--verbose]`: the fake LLM provider plus the real gateway
 * (examples/demo-config.json), ready for Claude Code or curl without any API key. Ctrl-C stops both.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeProvider, type FakeProvider } from '../test/fake-provider';

const ROOT = join(__dirname, '..');
const CONFIG = join(ROOT, 'examples', 'demo-config.json');
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

const USAGE = `Switchyard demo: a fake provider (OpenAI, Anthropic and Gemini APIs) and the gateway in front of it

  --port N         gateway port (default 3456; 0 = a free port)
  --fake-port N    fake provider port (default 0 = a free port)
  --verbose        show the gateway's logs (default: warnings and errors only)
  -h, --help`;

function port(name: string, value: string | undefined, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(`--${name} expects a port number, got "${value}"`);
  }
  return n;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address() as { port: number };
      srv.close(() => resolve(p));
    });
  });
}

/** Prefixes each line of a child's output so the demo's own lines stay readable. */
function relay(stream: NodeJS.ReadableStream | null, out: NodeJS.WriteStream): void {
  let partial = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      out.write(`[gateway] ${line}\n`);
    }
  });
}

function startGateway(gatewayPort: number, fake: FakeProvider, verbose: boolean): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SWITCHYARD_CONFIG: CONFIG,
    FAKE_PROVIDER_URL: fake.url,
    PORT: String(gatewayPort),
    HOST: '127.0.0.1',
    LOG_LEVEL: verbose ? 'info' : 'warn',
  };
  // The demo is self-contained: no shared Redis, no key required by the caller's own environment.
  delete env.REDIS_URL;
  delete env.SWITCHYARD_API_KEY;
  // A process group of its own: Ctrl-C reaches only the demo, which then stops the gateway gracefully.
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  relay(child.stdout, process.stdout);
  relay(child.stderr, process.stderr);
  return child;
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const until = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the gateway exited during startup (code ${child.exitCode ?? child.signalCode})`);
    }
    const ok = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) {
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the gateway was not ready after ${READY_TIMEOUT_MS / 1000} s`);
}

const shellQuote = (arg: string): string =>
  /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;

function curlArgs(url: string): string[] {
  const body = { model: 'claude-opus-4-8', max_tokens: 200, messages: [{ role: 'user', content: 'Say hi' }] };
  return ['-sS', `${url}/v1/messages`, '-H', 'content-type: application/json', '-d', JSON.stringify(body)];
}

/** Runs the printed curl command (or the same request with fetch when curl is not installed). */
async function runCurl(args: string[]): Promise<string> {
  const curl = await new Promise<{ stdout: string; missing: boolean }>((resolve, reject) => {
    execFile('curl', args, { timeout: 30_000 }, (err, stdout) => {
      if (err && err.code !== 'ENOENT') {
        reject(new Error(err.message));
      } else {
        resolve({ stdout, missing: err !== null });
      }
    });
  });
  if (!curl.missing) {
    return curl.stdout;
  }
  const [, url, , header, , data] = args;
  const [name, value] = header.split(': ');
  const res = await fetch(url, { method: 'POST', headers: { [name]: value }, body: data });
  return res.text();
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'fake-port': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const requested = port('port', values.port, 3456);
  const gatewayPort = requested === 0 ? await freePort() : requested;
  const fake = await startFakeProvider({
    port: port('fake-port', values['fake-port'], 0),
    maxRecorded: 1000,
  });
  const child = startGateway(gatewayPort, fake, values.verbose === true);
  const url = `http://127.0.0.1:${gatewayPort}`;

  let stopping = false;
  const stop = async (why: string, code: number): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    console.log(`\ndemo: ${why}; stopping the gateway (pid ${child.pid}) and the fake provider`);
    await stopChild(child);
    await fake.close();
    console.log('demo: stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  // Never leave an orphaned gateway behind, whatever ends the demo.
  process.on('exit', () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  child.once('exit', (code, signal) => void stop(`the gateway exited (${code ?? signal})`, 1));

  try {
    await waitReady(url, child);
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`);
    await stop('startup failed', 1);
    return;
  }
  const args = curlArgs(url);
  const curl = ['curl', ...args].map(shellQuote).join(' ');
  const config = relative(process.cwd(), CONFIG) || CONFIG;
  console.log(`
Switchyard demo is running
  gateway        ${url}  (pid ${child.pid})
  fake provider  ${fake.url}  (OpenAI, Anthropic and Gemini APIs, no keys needed)
  config         ${config}

Point Claude Code at it:
  export ANTHROPIC_BASE_URL=${url}
  export ANTHROPIC_AUTH_TOKEN=demo
  claude

Or ask it with curl:
  ${curl}
`);
  try {
    const answer = JSON.parse(await runCurl(args)) as { content?: Array<{ text?: string }>; error?: unknown };
    const text = answer.content?.find((b) => typeof b.text === 'string')?.text;
    console.log(
      text === undefined
        ? `curl answered: ${JSON.stringify(answer)}`
        : `curl answered: ${JSON.stringify(text)}`,
    );
  } catch (err) {
    console.log(`curl failed: ${(err as Error).message}`);
  }
  console.log(`
Real providers: copy ${config}, replace the fake-* Providers and the Router targets
(docs/providers.md lists every provider kind and transformer), then run
  SWITCHYARD_CONFIG=/path/to/your-config.json npm start

Press Ctrl-C to stop.`);
}

main().catch((err: unknown) => {
  console.error(`demo: ${(err as Error).message}`);
  process.exit(1);
});
