import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT, type CliContext } from './cli-context';
import { ensureGateway } from './background-gateway';
import { claudeEnvironment, withClaudeEnvironment } from './claude-environment';
import { gatewayAddress, loadCliConfig } from './gateway-address';

/** The package root, from src/cli (ts) and dist/cli (js) alike. */
const PACKAGE_ROOT = resolve(__dirname, '..', '..');

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

export function resolveClaude(env: NodeJS.ProcessEnv, cwd: string): string {
  if (env.CLAUDE_PATH) {
    return env.CLAUDE_PATH;
  }
  const bin = process.platform === 'win32' ? 'claude.cmd' : 'claude';
  for (const root of [PACKAGE_ROOT, cwd]) {
    const local = join(root, 'node_modules', '.bin', bin);
    if (existsSync(local)) {
      return local;
    }
  }
  return 'claude';
}

/** Runs `command` in the foreground with this terminal; resolves with its exit code (128+n for signal n). */
function runForeground(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ctx: CliContext,
): Promise<number> {
  return new Promise((resolveExit) => {
    const child = spawn(command, args, { stdio: 'inherit', env, cwd: ctx.cwd });
    // The terminal delivers Ctrl-C to claude itself (same process group); a signal sent to this process
    // alone (kill, a supervisor) must reach claude too, and must not kill us before claude's exit code is known.
    const forwarders = FORWARDED.map((signal) => {
      const forward = (): void => void child.kill(signal);
      process.on(signal, forward);
      return [signal, forward] as const;
    });
    let settled = false;
    const settle = (code: number): void => {
      if (settled) {
        return;
      }
      settled = true;
      for (const [signal, forward] of forwarders) {
        process.removeListener(signal, forward);
      }
      resolveExit(code);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      ctx.io.stderr(
        `switchyard: cannot run Claude Code (${command}): ${err.message}\n` +
          'Install it (npm install -g @anthropic-ai/claude-code) or set CLAUDE_PATH.\n',
      );
      settle(err.code === 'ENOENT' ? EXIT.commandNotFound : EXIT.failure);
    });
    child.once('exit', (code, signal) => {
      settle(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

export async function runCode(args: string[], ctx: CliContext): Promise<number> {
  const { config } = loadCliConfig(ctx.env);
  const address = gatewayAddress(config);
  const timeout = Number(ctx.env.SWITCHYARD_START_TIMEOUT_MS);
  await ensureGateway(ctx, address, {
    startTimeoutMs: Number.isInteger(timeout) && timeout > 0 ? timeout : 60_000,
    say: (line) => ctx.io.stderr(`${line}\n`),
  });
  const env = withClaudeEnvironment(ctx.env, claudeEnvironment(address, config, ctx.env));
  return runForeground(resolveClaude(ctx.env, ctx.cwd), args, env, ctx);
}
