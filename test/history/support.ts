import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryDb } from '../../src/history/history-db';
import type { HistoryRow, HistoryStats } from '../../src/history/history.types';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { DEFAULT_ROUTER, eventually, fakeProviders } from '../support/gateway';
import { startTestApp, type TestApp } from '../support/test-app';

export const API_KEY = 'sy-history-test-key';

export interface HistoryGateway extends TestApp {
  fake: FakeProvider;
  /** A second fake provider ("down", model m1) that answers every request with 503. */
  down: FakeProvider;
  stop(): Promise<void>;
}

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'sy-history-e2e-'));

/**
 * A real gateway (the fake provider's three kinds, plus a "down" provider that always fails) with its
 * request history in `History` (merged over fast test settings) and an API key.
 */
export async function startHistoryGateway(
  history: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<HistoryGateway> {
  const fake = await startFakeProvider();
  const down = await startFakeProvider({ defaults: { fault: { type: 'status', status: 503 } } });
  const app = await startTestApp({
    userConfig: {
      APIKEY: API_KEY,
      Providers: [
        ...fakeProviders(fake.url),
        { name: 'down', api_base_url: `${down.url}/v1/chat/completions`, api_key: 'sk-down', models: ['m1'] },
      ],
      Router: DEFAULT_ROUTER,
      // `down,m1` asked for explicitly fails over to the default target.
      Failover: {
        providers: { primary: 'down,m1', fallback: ['openai,gpt-fake'] },
        health: { enabled: false },
      },
      History: { flushIntervalMs: 50, ...history },
      ...extra,
    },
  });
  return {
    ...app,
    fake,
    down,
    stop: async () => {
      await app.close();
      await fake.close();
      await down.close();
    },
  };
}

export async function getJson<T = any>(
  gw: TestApp,
  path: string,
  key: string | null = API_KEY,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gw.url}${path}`, { headers: key ? { 'x-api-key': key } : {} });
  return { status: res.status, body: (await res.json()) as T };
}

export const historyStats = async (gw: TestApp): Promise<HistoryStats> =>
  (await getJson<HistoryStats>(gw, '/api/history/stats')).body;

/** Every stored row, read through a separate read-only connection (as the report CLI reads). */
export function readRows(path: string): HistoryRow[] {
  const db = HistoryDb.open(path, { readonly: true });
  try {
    return [...db.iterate(0, Date.now() + 60_000)];
  } finally {
    db.close();
  }
}

/** Waits until the row of `requestId` is stored, and returns it. */
export async function rowOf(path: string, requestId: string, timeoutMs = 5000): Promise<HistoryRow> {
  let row: HistoryRow | undefined;
  await eventually(() => {
    try {
      row = readRows(path).find((r) => r.requestId === requestId);
    } catch {
      row = undefined; // the file may not exist yet
    }
    return row !== undefined;
  }, timeoutMs);
  return row as HistoryRow;
}

/** An independent connection, as another process sharing the file would have. */
export const rawConnection = (path: string): Database.Database => new Database(path);
