import { providerHealthSchema, type SwitchyardConfig } from '../config/config.schema';
import { collectEvents } from '../providers/event-stream';
import { anthropicMessagesUrl } from '../providers/anthropic/anthropic.adapter';
import { geminiUrl } from '../providers/gemini/gemini.adapter';
import { openAIChatUrl } from '../providers/openai/openai.adapter';
import { withProviderHeaders } from '../providers/adapter-support';
import {
  ProviderError,
  type ProviderAdapter,
  type ProviderConfig,
  type ProviderKind,
} from '../providers/provider.types';
import type { UpstreamClient } from '../providers/upstream.client';
import { classifyTransportError } from '../providers/upstream-errors';

export type ProbeSettings = Required<
  Pick<SwitchyardConfig['Failover']['health'], 'enabled' | 'mode' | 'intervalMs' | 'timeoutMs'>
> & {
  model?: string;
  url?: string;
};

export interface ProbeResult {
  ok: boolean;
  ms: number;
  status?: number;
  error?: string;
  /** "provider,model" when the probe was a real request (it then feeds that target too). */
  target?: string;
}

/** `Failover.health` overlaid with the provider's own `health` block; a bad block stops the boot with its path. */
export function probeSettings(
  provider: ProviderConfig,
  defaults: SwitchyardConfig['Failover']['health'],
): ProbeSettings {
  const parsed = providerHealthSchema.safeParse(provider.health ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Providers[${provider.name}].health.${issue.path.join('.')}: ${issue.message}`);
  }
  const own = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
  return { ...defaults, ...own };
}

/** The provider's model-list endpoint, derived from the generation endpoint of its kind. */
export function modelsUrl(provider: ProviderConfig, kind: ProviderKind): string {
  switch (kind) {
    case 'openai':
      return openAIChatUrl(provider.api_base_url).replace(/\/chat\/completions(?=$|\?)/, '/models');
    case 'anthropic':
      return anthropicMessagesUrl(provider.api_base_url).replace(/\/messages(?=$|\?)/, '/models');
    case 'gemini': {
      const url = new URL(geminiUrl(provider.api_base_url, 'probe', false));
      url.pathname = url.pathname.replace(/\/probe:generateContent$/, '');
      return url.toString();
    }
  }
}

function authHeaders(provider: ProviderConfig, kind: ProviderKind): Record<string, string> {
  const key = provider.api_key;
  if (!key) {
    return {};
  }
  switch (kind) {
    case 'openai':
      return { authorization: `Bearer ${key}` };
    case 'anthropic':
      return provider.authHeader === 'bearer'
        ? { 'x-api-key': key, authorization: `Bearer ${key}`, 'anthropic-version': '2023-06-01' }
        : { 'x-api-key': key, 'anthropic-version': '2023-06-01' };
    case 'gemini':
      return { 'x-goog-api-key': key };
  }
}

/** Any answer but 5xx/429/401/403 means the origin is up (many compatible servers have no models list). */
function verdict(status: number): boolean {
  return status < 500 && status !== 429 && status !== 401 && status !== 403;
}

async function timed(
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<Omit<ProbeResult, 'ms'>>,
): Promise<ProbeResult> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('probe timed out', 'TimeoutError')),
    timeoutMs,
  );
  const started = performance.now();
  try {
    return { ...(await fn(controller.signal)), ms: Math.round(performance.now() - started) };
  } catch (err) {
    const pe = err instanceof ProviderError ? err : classifyTransportError(err, controller.signal);
    return { ok: false, status: pe.status, error: pe.message, ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/** models mode: GET the provider's model list. */
export function probeModels(
  client: UpstreamClient,
  provider: ProviderConfig,
  kind: ProviderKind,
  s: ProbeSettings,
): Promise<ProbeResult> {
  return timed(s.timeoutMs, async (signal) => {
    const url = s.url ?? modelsUrl(provider, kind);
    const target = { provider, model: provider.models[0] ?? '' };
    const res = await client.request({
      url,
      method: 'GET',
      headers: withProviderHeaders(target, { accept: 'application/json', ...authHeaders(provider, kind) }),
      signal,
      timeouts: { headersMs: s.timeoutMs, bodyMs: s.timeoutMs },
    });
    await res.body.dump({ limit: 256 * 1024 }).catch(() => undefined);
    const ok = verdict(res.statusCode);
    return { ok, status: res.statusCode, error: ok ? undefined : `${url} answered HTTP ${res.statusCode}` };
  });
}

/** request mode: a max_tokens:1 request through the adapter (costs a token; proves the whole path). */
export function probeRequest(
  adapter: ProviderAdapter,
  provider: ProviderConfig,
  s: ProbeSettings,
): Promise<ProbeResult> {
  const model = s.model ?? provider.models[0];
  const target = `${provider.name},${model}`;
  return timed(s.timeoutMs, async (signal) => {
    try {
      const events = await adapter.send(
        { model, max_tokens: 1, stream: false, messages: [{ role: 'user', content: 'ping' }] },
        { provider, model },
        {
          requestId: `probe-${provider.name}`,
          signal,
          clientHeaders: {},
          inputTokensEstimate: 1,
          clientModel: model,
        },
      );
      const all = await collectEvents(events);
      const error = all.find((e) => e.type === 'error');
      return error?.type === 'error'
        ? { ok: false, error: error.error.message, target }
        : { ok: all.some((e) => e.type === 'message_stop'), target };
    } catch (err) {
      const pe = err instanceof ProviderError ? err : classifyTransportError(err, signal);
      return { ok: false, status: pe.status, error: pe.message, target };
    }
  });
}
