/** Every command's help text, kept apart from the commands so that `help` loads none of them. */

export const USAGE = `usage: switchyard [--config <file>] <command> [options]

commands:
  start             run the gateway in the foreground (--role, --config, --port)
  code [args…]      run Claude Code through the gateway, starting one in the background if none answers
  env               print the variables that point Claude Code at the gateway (export lines)
  status            health, providers, cache and queues of a running gateway (--json)
  stop              stop the background gateway that \`switchyard code\` started
  report            request history report (latency, errors, cache, failovers, tokens)
  migrate-config    check a Claude Code Router config.json and write a Switchyard config
  migrate-to-redis  copy a cache snapshot into Redis
  help [command]    this text, or one command's options

global options:
  --config <file>   the configuration file (sets SWITCHYARD_CONFIG; default ~/.claude-code-router/config.json)
  -h, --help        help (\`switchyard <command> --help\` for a command; \`switchyard help code\` for code)
  -V, --version     the version

docs: docs/cli.md; coming from Claude Code Router: docs/migration-from-ccr.md
`;

export const START_USAGE = `usage: switchyard start [--role api|worker|all] [--config <file>] [--port <n>] [--host <addr>]
                       [--pid-file <file>]

Runs the gateway in the foreground, exactly as \`node dist/main.js\` does; SIGTERM or Ctrl-C stops it after
in-flight requests finish (Server.shutdownGraceMs).

  --role      api, worker or all (default: SWITCHYARD_ROLE, else JobQueue.role, else all)
  --config    the configuration file (sets SWITCHYARD_CONFIG; default ~/.claude-code-router/config.json)
  --port      listen port (sets PORT; 0 = any free port)
  --host      listen address (sets HOST)
  --pid-file  write {"pid","url","startedAt"} here once listening; removed on shutdown
`;

export const CODE_USAGE = `usage: switchyard code [claude arguments…]

Runs Claude Code through the gateway. When nothing answers on the configured HOST:PORT, a gateway is
started in the background first (NODE_ENV=production unless set; logs: ~/.switchyard/gateway-<port>.log,
pid file beside it; it keeps running after Claude Code exits — \`switchyard stop\` stops it) and the command
waits until it is live.

Every argument after \`code\` goes to claude unchanged, \`--\` and \`--help\` included:
  switchyard code                     interactive session
  switchyard code -p "explain this"   print mode
  switchyard code --help              claude's own help

claude is CLAUDE_PATH when set, else node_modules/.bin/claude of this package or of the current
directory, else claude on PATH. It runs with ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN, API_TIMEOUT_MS and
NO_PROXY set (see \`switchyard env\`) and ANTHROPIC_API_KEY removed; its exit code is this command's exit
code (128+n when it dies of signal n; SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to it).
SWITCHYARD_START_TIMEOUT_MS (default 60000) bounds the wait for a background gateway.
`;

export const ENV_USAGE = `usage: switchyard env [--shell posix|fish|powershell]

Prints the variables that point Claude Code (or any Anthropic SDK) at the gateway of the current
configuration: ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN (the APIKEY, or a placeholder without one),
API_TIMEOUT_MS, NO_PROXY, and unsets ANTHROPIC_API_KEY.

  eval "$(switchyard env)"                                   bash, zsh, sh
  switchyard env --shell fish | source                       fish
  switchyard env --shell powershell | Invoke-Expression      PowerShell
`;

export const STATUS_USAGE = `usage: switchyard status [--json] [--url <base-url>] [--api-key <key>] [--timeout <ms>]

Asks a running gateway for its health (GET /health/live, /health/ready), providers (/api/providers), cache
(/api/cache/stats) and queues (/api/queue). The address and API key come from the configuration, like
\`switchyard start\`.

  --json      one JSON object instead of text
  --url       the gateway's base URL (default http://HOST:PORT of the configuration)
  --api-key   the key for the /api routes (default APIKEY of the configuration)
  --timeout   per request, in ms (default 5000)

exit code: 0 ready; 1 nothing (or not a Switchyard gateway) answers; 3 it answers but is not ready or a
section could not be read (wrong API key, say).
`;

export const STOP_USAGE = `usage: switchyard stop [--port <n>] [--timeout <ms>]

Stops the background gateway \`switchyard code\` started for this configuration's PORT (or --port): SIGTERM,
then waits for in-flight requests to finish and the process to exit (default up to 60000 ms). A gateway
started in the foreground (\`switchyard start\`) is stopped with Ctrl-C / SIGTERM instead.

exit code: 0 stopped, or none was running; 1 it did not stop in time or is not ours to stop.
`;

export const MIGRATE_CONFIG_USAGE = `usage: switchyard migrate-config [<ccr-config.json>] [--write <file>] [--force] [--json]

Reads a Claude Code Router config (default ~/.claude-code-router/config.json; JSON5 allowed), says what each
key becomes in Switchyard and what is ignored or unsupported, converts it, and validates the result with
Switchyard's own configuration loader plus the boot-time checks (transformer names, custom transformer and
router modules, Router and fallback targets). Switchyard also reads the CCR file as it is; the written file
leaves out what Switchyard does not use and fixes the few CCR spellings its loader rejects.

  --write   write the Switchyard config here (JSON, mode 600; \`$VAR\` references are kept as references)
  --force   overwrite an existing --write file
  --json    the report as one JSON object

exit code: 0 the converted config is valid (warnings may remain); 1 the file cannot be read or the converted
config is invalid (nothing is written then); 2 a bad command line.
`;

export const MIGRATE_REDIS_USAGE = `usage: switchyard migrate-to-redis --snapshot <file> [--redis-url redis://…] [--dry-run]
       (also: npm run migrate:redis -- --snapshot <file> …)

Copies a memory-tier cache snapshot (written on shutdown when Cache.snapshotPath is set) into Redis, each
entry with its remaining lifetime. Idempotent: entries already in Redis are left alone, so it can be rerun.
Prints a summary line, then the counts as one JSON line.

  --snapshot   the snapshot written by Cache.snapshotPath (required)
  --redis-url  redis://… (default: the Redis settings of the configuration / REDIS_URL)
  --dry-run    report what would be copied, write nothing
`;
