import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { CliError, EXIT, parseCommandArgs, type CliContext } from './cli-context';
import { migrateCcrFile, type MigrationReport } from './ccr-migration';
import { renderMigration } from './migration-render';
import { MIGRATE_CONFIG_USAGE } from './cli-usage';

export function runMigrateConfig(args: string[], ctx: CliContext): number {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      write: { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    ctx.io.stdout(MIGRATE_CONFIG_USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 1) {
    throw new CliError(`expected one config file, got ${positionals.length}`, EXIT.usage);
  }
  const source = positionals[0]
    ? resolve(ctx.cwd, positionals[0])
    : join(ctx.env.HOME || homedir(), '.claude-code-router', 'config.json');
  if (!existsSync(source)) {
    throw new CliError(`no Claude Code Router config at ${source}`);
  }
  const target = values.write === undefined ? undefined : resolve(ctx.cwd, values.write);
  if (target && existsSync(target) && !values.force) {
    throw new CliError(`${target} exists; pass --force to overwrite it`);
  }

  const { report, config } = migrateCcrFile(source, ctx.env, ctx.cwd);
  if (target && report.valid && config) {
    mkdirSync(dirname(target), { recursive: true });
    // Provider keys are often written literally in CCR files: the copy is private to the user.
    writeFileSync(target, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    report.written = target;
  }
  ctx.io.stdout(
    values.json ? `${JSON.stringify(report satisfies MigrationReport, null, 2)}\n` : renderMigration(report),
  );
  return report.valid ? EXIT.ok : EXIT.failure;
}
