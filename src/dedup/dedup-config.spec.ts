import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load-config';

const load = (Dedup: Record<string, unknown>) =>
  loadConfig({
    env: { NODE_ENV: 'test', HOME: mkdtempSync(join(tmpdir(), 'dedup-config-')) },
    overrides: { Dedup },
  });

describe('Dedup config', () => {
  it('ships the documented defaults', () => {
    expect(load({}).config.Dedup).toEqual({
      enabled: true,
      crossInstance: true,
      maxWaitMs: 120000,
      maxLogBytes: 8388608,
      lockTtlMs: 5000,
      heartbeatMs: 1500,
      batchMs: 25,
      batchEvents: 64,
    });
  });

  it('refuses a heartbeat that is not shorter than the lock TTL, naming the key', () => {
    expect(() => load({ heartbeatMs: 5000 })).toThrow(
      /Dedup\.heartbeatMs: must be shorter than Dedup\.lockTtlMs/,
    );
  });

  it('refuses a zero cap or batch size', () => {
    expect(() => load({ maxLogBytes: 0 })).toThrow(/Dedup\.maxLogBytes/);
    expect(() => load({ batchEvents: 0 })).toThrow(/Dedup\.batchEvents/);
  });
});
