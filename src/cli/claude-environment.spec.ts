import { claudeEnvironment, renderEnvironment, withClaudeEnvironment } from './claude-environment';
import { gatewayAddress } from './gateway-address';
import type { SwitchyardConfig } from '../config/config.schema';

const config = (over: Partial<SwitchyardConfig>): SwitchyardConfig =>
  ({ PORT: 3456, API_TIMEOUT_MS: 600000, ...over }) as SwitchyardConfig;

describe('claudeEnvironment', () => {
  it('points at loopback for a wildcard listen address and brackets IPv6', () => {
    expect(gatewayAddress(config({ HOST: '0.0.0.0' })).url).toBe('http://127.0.0.1:3456');
    expect(gatewayAddress(config({ HOST: '::1', PORT: 9 })).url).toBe('http://[::1]:9');
  });

  it('adds the gateway host to NO_PROXY once, keeping the user’s entries', () => {
    const address = gatewayAddress(config({}));
    const noProxy = (env: NodeJS.ProcessEnv): string | undefined =>
      claudeEnvironment(address, config({}), env).set.find(([n]) => n === 'NO_PROXY')?.[1];
    expect(noProxy({})).toBe('127.0.0.1');
    expect(noProxy({ no_proxy: 'a.example, b.example' })).toBe('127.0.0.1,a.example,b.example');
    expect(noProxy({ NO_PROXY: 'x,127.0.0.1' })).toBe('x,127.0.0.1');
  });

  it('sets the token to APIKEY (placeholder without one) and removes ANTHROPIC_API_KEY from the child env', () => {
    const withKey = config({ APIKEY: 'k' });
    const env = withClaudeEnvironment(
      { ANTHROPIC_API_KEY: 'sk-ant', KEEP: '1' },
      claudeEnvironment(gatewayAddress(withKey), withKey, {}),
    );
    expect(env).toMatchObject({
      ANTHROPIC_AUTH_TOKEN: 'k',
      KEEP: '1',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:3456',
    });
    expect(env).not.toHaveProperty('ANTHROPIC_API_KEY');
    const none = claudeEnvironment(gatewayAddress(config({})), config({}), {});
    expect(none.set).toContainEqual(['ANTHROPIC_AUTH_TOKEN', 'switchyard']);
  });

  it('quotes values for each shell', () => {
    const ce = { set: [['T', "a'b c"] as [string, string]], unset: ['U'] };
    expect(renderEnvironment(ce, 'posix')).toBe("export T='a'\\''b c'\nunset U\n");
    expect(renderEnvironment(ce, 'fish')).toBe("set -gx T 'a\\'b c'\nset -e U\n");
    expect(renderEnvironment(ce, 'powershell')).toBe(
      "$env:T = 'a''b c'\nRemove-Item Env:U -ErrorAction SilentlyContinue\n",
    );
  });
});
