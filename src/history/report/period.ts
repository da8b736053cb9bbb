/** A bad command line: the CLI prints it with the usage and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * An instant of `--since` / `--until`: a duration before `now` (`90m`, `24h`, `7d`, `2w`), `now`, or an
 * ISO 8601 date or date-time (`2025-06-01`, `2025-06-01T12:00:00Z`; a date alone is midnight UTC).
 */
export function parseInstant(value: string, now: number): number {
  const v = value.trim();
  if (v === 'now') {
    return now;
  }
  const rel = /^(\d+(?:\.\d+)?)(s|min|m|h|d|w)$/.exec(v);
  if (rel) {
    return now - Number(rel[1]) * UNITS[rel[2]];
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) {
      return t;
    }
  }
  throw new UsageError(
    `"${value}" is neither a duration (24h, 7d, 90m, 2w) nor an ISO date (2025-06-01T12:00:00Z)`,
  );
}

/**
 * The report period [since, until): durations count back from now (`--since 7d --until 1d` = the six days
 * before yesterday); `since` defaults to 24 h before `until`, `until` to now.
 */
export function parsePeriod(
  since: string | undefined,
  until: string | undefined,
  now: number,
): { since: number; until: number } {
  const end = until === undefined ? now : parseInstant(until, now);
  const start = since === undefined ? end - UNITS.d : parseInstant(since, now);
  if (start >= end) {
    throw new UsageError(
      `--since (${new Date(start).toISOString()}) must be before --until (${new Date(end).toISOString()})`,
    );
  }
  return { since: start, until: end };
}
