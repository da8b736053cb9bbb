import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Everything a command may read from the outside world, passed in by the entry point (tests build their own). */
export interface CliContext {
  io: CliIo;
  /** The environment the command reads and hands to the processes it starts. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** How to run this CLI again as a child process (the background gateway of `switchyard code`). */
  self: { execPath: string; execArgv: string[]; script: string };
}

/** Exit codes shared by every command (docs/cli.md#exit-codes). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notReady: 3,
  commandNotFound: 127,
} as const;

/** A bad command line: the message is printed with the command's usage, exit code 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** A failure the user can act on: the message is printed as it is (no stack), exit code 1 unless given. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** node:util parseArgs with its errors turned into usage errors. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
}

/** A positive integer option (`--port`, `--timeout`), or a usage error naming it. */
export function integerOption(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new CliUsageError(`--${name} expects an integer ≥ ${min} (got "${value}")`);
  }
  return Number(value);
}
