import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordedRequest } from './fake-provider';
import { startGateway, type GatewayUnderTest } from './support/gateway';

/** The real Claude Code CLI in print mode, pointed at the gateway (PROTOCOL.md §1.1: Bearer auth). */
const CLAUDE = join(__dirname, '..', 'node_modules', '.bin', 'claude');
const RUN_TIMEOUT_MS = 90_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runClaude(baseUrl: string, home: string, cwd: string, args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // Nothing from the developer's own Claude Code setup may leak into the run.
    if (!key.startsWith('ANTHROPIC_') && !key.startsWith('CLAUDE_')) {
      env[key] = value;
    }
  }
  Object.assign(env, {
    HOME: home,
    ANTHROPIC_BASE_URL: baseUrl,
    ANTHROPIC_AUTH_TOKEN: 'test',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
  });
  return new Promise((resolve, reject) => {
    const child = spawn(CLAUDE, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** Everything the CLI printed, for failure messages. */
const transcript = (run: Run) => ({
  ...run,
  stdout: run.stdout.slice(-2000),
  stderr: run.stderr.slice(-2000),
});

type Kind = 'openai' | 'anthropic' | 'gemini';

const TARGETS: Record<Kind, string> = {
  openai: 'openai,gpt-fake',
  anthropic: 'anthropic,claude-fake',
  gemini: 'gemini,gemini-fake',
};

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : Array.isArray(content)
      ? content.map((p: any) => p?.text ?? '').join('')
      : JSON.stringify(content);

/** The tool result a recorded upstream request carries, read in that kind's own wire format. */
function toolResultIn(kind: Kind, r: RecordedRequest): string | undefined {
  const body = r.body ?? {};
  switch (kind) {
    case 'openai': {
      const message = body.messages?.find((m: any) => m.role === 'tool');
      return message ? textOf(message.content) : undefined;
    }
    case 'anthropic': {
      const blocks = (body.messages ?? []).flatMap((m: any) => (Array.isArray(m.content) ? m.content : []));
      const block = blocks.find((b: any) => b.type === 'tool_result');
      return block ? textOf(block.content) : undefined;
    }
    case 'gemini': {
      const parts = (body.contents ?? []).flatMap((c: any) => c.parts ?? []);
      const response = parts.find((p: any) => p.functionResponse)?.functionResponse.response;
      return response ? textOf(response.content ?? response) : undefined;
    }
  }
}

const generation = (gw: GatewayUnderTest) =>
  gw.fake.requests.filter((r) => r.api === 'openai' || r.api === 'anthropic' || r.api === 'gemini');

describe.each<Kind>(['openai', 'anthropic', 'gemini'])('Claude Code CLI → gateway → %s kind', (kind) => {
  let gw: GatewayUnderTest;
  let home: string;
  let cwd: string;
  const target = TARGETS[kind];

  beforeAll(async () => {
    const slots = ['default', 'think', 'background', 'longContext', 'webSearch', 'image'];
    gw = await startGateway({ router: Object.fromEntries(slots.map((s) => [s, target])) });
    home = mkdtempSync(join(tmpdir(), 'switchyard-cc-home-'));
    cwd = mkdtempSync(join(tmpdir(), 'switchyard-cc-cwd-'));
  });

  afterAll(async () => {
    await gw.stop();
    rmSync(home, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  beforeEach(() => gw.fake.reset());

  it('claude -p "say hi" prints the fake answer and exits 0', async () => {
    const run = await runClaude(gw.url, home, cwd, ['-p', 'say hi']);
    expect(transcript(run)).toMatchObject({ code: 0, timedOut: false });
    expect(run.stdout.trim()).toBe('Hello from fake provider');

    const calls = generation(gw);
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.map((r) => r.api)).toEqual(calls.map(() => kind));
    expect(calls.map((r) => r.model)).toEqual(calls.map(() => target.split(',')[1]));
  });

  it('runs a Bash tool call the model asks for and sends the tool_result back', async () => {
    const run = await runClaude(gw.url, home, cwd, [
      '-p',
      'Run the command please. MOCK_TOOL_USE:Bash',
      '--allowedTools',
      'Bash',
    ]);
    expect(transcript(run)).toMatchObject({ code: 0, timedOut: false });
    expect(run.stdout.trim()).toBe('Tool result received: hi');

    // Two turns: the fake answers the first with Bash {command: "echo hi"}, the CLI runs it and sends
    // its output back in the second, which the fake acknowledges.
    const calls = generation(gw);
    expect(calls.map((r) => r.api)).toEqual([kind, kind]);
    expect(calls.map((r) => toolResultIn(kind, r))).toEqual([undefined, 'hi']);
  });
});
