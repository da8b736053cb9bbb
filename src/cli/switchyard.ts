#!/usr/bin/env node
import { exitAfterFlush, processContext, runCli } from './cli-main';

/** The `switchyard` command (package.json `bin`); every command is described in docs/cli.md. */
runCli(process.argv.slice(2), processContext()).then(
  (code) => {
    // `start` keeps the process up (the gateway); every other command ends here, even if a keep-alive
    // socket or a timer of a library would hold the event loop a little longer.
    if (code !== 'running') {
      exitAfterFlush(code);
    }
  },
  (err: unknown) => {
    process.stderr.write(`switchyard: ${(err as Error).stack ?? String(err)}\n`);
    exitAfterFlush(1);
  },
);
