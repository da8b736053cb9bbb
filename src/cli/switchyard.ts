#!/usr/bin/env node
import { REPORT_USAGE, runReport } from '../history/report/report-command';

const USAGE = `usage: switchyard <command> [options]

commands:
  report   request history report for a period (latency, errors, cache, failovers, tokens)

${REPORT_USAGE}`;

const io = {
  stdout: (text: string): void => void process.stdout.write(text),
  stderr: (text: string): void => void process.stderr.write(text),
};

/** The `switchyard` command (package.json `bin`); `npm run report -- --since 7d` runs its report. */
function main(argv: string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'report':
      return runReport(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.stderr(`switchyard: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
