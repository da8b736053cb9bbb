import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './load-config';

const load = (AdaptiveTimeout: Record<string, unknown>) =>
  loadConfig({
    env: { HOME: mkdtempSync(join(tmpdir(), 'switchyard-at-')), NODE_ENV: 'test' },
    overrides: { AdaptiveTimeout },
  });

describe('AdaptiveTimeout config', () => {
  it('defaults: 20 tokens/s, no maxTimeout (the total is capped by API_TIMEOUT_MS)', () => {
    const { config } = load({});
    expect(config.AdaptiveTimeout.minTokensPerSecond).toBe(20);
    expect(config.AdaptiveTimeout.maxTimeout).toBeUndefined();
    expect(config.API_TIMEOUT_MS).toBe(600_000);
  });

  it('rejects the removed perTokenMs loudly, naming its replacement', () => {
    expect(() => load({ perTokenMs: 0.5 })).toThrow(ConfigError);
    expect(() => load({ perTokenMs: 0.5 })).toThrow(/AdaptiveTimeout\.perTokenMs: .*minTokensPerSecond/);
  });

  it('rejects a rate that is not positive', () => {
    expect(() => load({ minTokensPerSecond: 0 })).toThrow(/AdaptiveTimeout\.minTokensPerSecond/);
  });
});
