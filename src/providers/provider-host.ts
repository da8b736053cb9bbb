import type { ProviderConfig } from './provider.types';

const hosts = new WeakMap<ProviderConfig, string>();

/**
 * Lower-case hostname of a provider's `api_base_url`. Adapters pick dialects by host on every request;
 * the provider config is immutable for its lifetime, so the URL is parsed once per provider, not per request.
 */
export function providerHost(provider: ProviderConfig): string {
  let host = hosts.get(provider);
  if (host === undefined) {
    host = new URL(provider.api_base_url).hostname.toLowerCase();
    hosts.set(provider, host);
  }
  return host;
}
