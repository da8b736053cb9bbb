import { ConfigError, loadConfig, type LoadedConfig } from '../config/load-config';
import type { SwitchyardConfig } from '../config/config.schema';
import { CliError } from './cli-context';

export interface GatewayAddress {
  /** Base URL a client on this machine uses (`http://127.0.0.1:3456`). */
  url: string;
  /** The host part a client connects to (a wildcard listen address becomes loopback). */
  host: string;
  port: number;
  apiKey?: string;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** The URL of a listening socket, as a local client reaches it. */
export function localUrl(host: string, port: number): string {
  const connectHost = WILDCARDS.has(host) ? '127.0.0.1' : host;
  return `http://${connectHost.includes(':') ? `[${connectHost}]` : connectHost}:${port}`;
}

/** Where the gateway this configuration describes answers. */
export function gatewayAddress(config: SwitchyardConfig): GatewayAddress {
  const host = config.HOST ?? '127.0.0.1';
  const connectHost = WILDCARDS.has(host) ? '127.0.0.1' : host;
  return { url: localUrl(host, config.PORT), host: connectHost, port: config.PORT, apiKey: config.APIKEY };
}

/** The gateway's configuration (the same layers as `switchyard start`); a bad file is a CliError, not a stack. */
export function loadCliConfig(env: NodeJS.ProcessEnv): LoadedConfig {
  try {
    return loadConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new CliError(err.message);
    }
    throw err;
  }
}
