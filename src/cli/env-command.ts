import { CliUsageError, EXIT, parseCommandArgs, type CliContext } from './cli-context';
import { SHELLS, claudeEnvironment, renderEnvironment, type Shell } from './claude-environment';
import { gatewayAddress, loadCliConfig } from './gateway-address';
import { ENV_USAGE } from './cli-usage';

const ALIASES: Record<string, Shell> = { bash: 'posix', zsh: 'posix', sh: 'posix', pwsh: 'powershell' };

export function runEnv(args: string[], ctx: CliContext): number {
  const { values } = parseCommandArgs(args, {
    shell: { type: 'string', default: 'posix' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    ctx.io.stdout(ENV_USAGE);
    return EXIT.ok;
  }
  const shell = ALIASES[values.shell] ?? values.shell;
  if (!SHELLS.includes(shell)) {
    throw new CliUsageError(`--shell must be posix, fish or powershell (got "${values.shell}")`);
  }
  const { config } = loadCliConfig(ctx.env);
  ctx.io.stdout(renderEnvironment(claudeEnvironment(gatewayAddress(config), config, ctx.env), shell));
  return EXIT.ok;
}
