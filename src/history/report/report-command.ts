import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load-config';
import { HistoryDb } from '../history-db';
import { MEMORY_PATH, resolveHistoryPath } from '../history-path';
import { ReportBuilder } from './report-builder';
import { renderHtml } from './report-html';
import { renderText } from './report-text';
import { UsageError, parsePeriod } from './period';

export const REPORT_USAGE = `usage: switchyard report [--since 24h|7d|<ISO>] [--until now|<duration>|<ISO>]
                        [--format text|json|html] [--db <history.db>] [--out <file>]

  --since   start of the period: a duration back from now (90m, 24h, 7d, 2w) or an ISO date/time (default 24h)
  --until   end of the period (default now)
  --format  text (default), json, or html (one self-contained page with charts)
  --db      the history database (default: History.path of the gateway's configuration)
  --out     write the report to this file instead of stdout
`;

export interface ReportIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now?: number;
}

const FORMATS = ['text', 'json', 'html'] as const;
type Format = (typeof FORMATS)[number];

/** The database the gateway writes to, from its configuration (the same layers as `npm start`). */
function configuredDb(): string {
  let path: string;
  try {
    path = loadConfig().config.History.path;
  } catch (err) {
    throw new UsageError(`cannot read the gateway configuration (${(err as Error).message}); pass --db`);
  }
  if (path === MEMORY_PATH) {
    throw new UsageError('History.path is ":memory:" (nothing on disk); pass --db <file>');
  }
  return resolveHistoryPath(path);
}

/** `switchyard report …`: 0 done, 1 the database could not be read, 2 a bad command line. */
export function runReport(args: string[], io: ReportIo): number {
  try {
    const { values } = parseArgs({
      args,
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        format: { type: 'string', default: 'text' },
        db: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.stdout(REPORT_USAGE);
      return 0;
    }
    const format = values.format as Format;
    if (!FORMATS.includes(format)) {
      throw new UsageError(`--format must be text, json or html (got "${values.format}")`);
    }
    const now = io.now ?? Date.now();
    const period = parsePeriod(values.since, values.until, now);
    const path = values.db !== undefined ? resolve(values.db) : configuredDb();
    if (!existsSync(path)) {
      io.stderr(`switchyard report: no history database at ${path}\n`);
      return 1;
    }
    const db = HistoryDb.open(path, { readonly: true });
    let text: string;
    try {
      const builder = new ReportBuilder(period.since, period.until);
      for (const row of db.iterate(period.since, period.until)) {
        builder.add(row);
      }
      const report = builder.build(path, new Date(now));
      text =
        format === 'json'
          ? `${JSON.stringify(report, null, 2)}\n`
          : format === 'html'
            ? renderHtml(report)
            : renderText(report);
    } finally {
      db.close();
    }
    if (values.out !== undefined) {
      writeFileSync(values.out, text);
      io.stderr(`switchyard report: wrote ${format} report to ${resolve(values.out)}\n`);
    } else {
      io.stdout(text);
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`switchyard report: ${(err as Error).message}\n\n${REPORT_USAGE}`);
      return 2;
    }
    io.stderr(`switchyard report: ${(err as Error).message}\n`);
    return 1;
  }
}
