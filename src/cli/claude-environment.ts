import type { SwitchyardConfig } from '../config/config.schema';
import type { GatewayAddress } from './gateway-address';

/** Sent as the token when the gateway has no APIKEY: Claude Code wants one, the gateway ignores it. */
export const PLACEHOLDER_TOKEN = 'switchyard';

/** The variables that point Claude Code at the gateway: what `switchyard code` sets and `switchyard env` prints. */
export interface ClaudeEnvironment {
  set: Array<[name: string, value: string]>;
  /** A real Anthropic key in the environment would be sent instead of the gateway's (and rejected by it). */
  unset: string[];
}

function noProxyWith(current: string | undefined, host: string): string {
  const entries = (current ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  return entries.includes(host) ? entries.join(',') : [host, ...entries].join(',');
}

export function claudeEnvironment(
  address: GatewayAddress,
  config: SwitchyardConfig,
  env: NodeJS.ProcessEnv,
): ClaudeEnvironment {
  return {
    set: [
      ['ANTHROPIC_BASE_URL', address.url],
      ['ANTHROPIC_AUTH_TOKEN', address.apiKey ?? PLACEHOLDER_TOKEN],
      // Claude Code gives up on a request after API_TIMEOUT_MS; the gateway's upstream deadline is the same.
      ['API_TIMEOUT_MS', String(config.API_TIMEOUT_MS)],
      // An HTTP(S)_PROXY of the user's must not carry loopback traffic to the gateway.
      ['NO_PROXY', noProxyWith(env.NO_PROXY ?? env.no_proxy, address.host)],
    ],
    unset: ['ANTHROPIC_API_KEY'],
  };
}

/** `env` with the Claude environment applied (for the child process). */
export function withClaudeEnvironment(env: NodeJS.ProcessEnv, ce: ClaudeEnvironment): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const name of ce.unset) {
    delete out[name];
  }
  for (const [name, value] of ce.set) {
    out[name] = value;
  }
  return out;
}

export const SHELLS = ['posix', 'fish', 'powershell'] as const;
export type Shell = (typeof SHELLS)[number];

const posixQuote = (v: string): string => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
const fishQuote = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const powershellQuote = (v: string): string => `'${v.replace(/'/g, "''")}'`;

/** Lines a shell evaluates: `eval "$(switchyard env)"`, `switchyard env --shell fish | source`, … */
export function renderEnvironment(ce: ClaudeEnvironment, shell: Shell): string {
  const lines: string[] = [];
  switch (shell) {
    case 'posix':
      lines.push(...ce.set.map(([n, v]) => `export ${n}=${posixQuote(v)}`));
      lines.push(...ce.unset.map((n) => `unset ${n}`));
      break;
    case 'fish':
      lines.push(...ce.set.map(([n, v]) => `set -gx ${n} ${fishQuote(v)}`));
      lines.push(...ce.unset.map((n) => `set -e ${n}`));
      break;
    case 'powershell':
      lines.push(...ce.set.map(([n, v]) => `$env:${n} = ${powershellQuote(v)}`));
      lines.push(...ce.unset.map((n) => `Remove-Item Env:${n} -ErrorAction SilentlyContinue`));
      break;
  }
  return `${lines.join('\n')}\n`;
}
