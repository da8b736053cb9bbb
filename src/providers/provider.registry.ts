import { AnthropicAdapter } from './anthropic/anthropic.adapter';
import { GeminiAdapter } from './gemini/gemini.adapter';
import { OpenAIAdapter } from './openai/openai.adapter';
import type { ProviderAdapter, ProviderConfig, ProviderKind, Target } from './provider.types';
import { TransformerRegistry } from './transformers/transformer.registry';
import type { UpstreamClient } from './upstream.client';

export interface ProviderRegistryDeps {
  client: UpstreamClient;
  logger?: { warn(obj: object, msg?: string): void };
  transformers?: TransformerRegistry;
}

const KINDS: ProviderKind[] = ['anthropic', 'openai', 'gemini'];

function useNames(p: ProviderConfig): string[] {
  return (p.transformer?.use ?? [])
    .map((u) => (Array.isArray(u) ? u[0] : u))
    .filter((n): n is string => typeof n === 'string');
}

/**
 * The configured providers, their kinds and adapters. Immutable: a config reload builds a new registry
 * and swaps it atomically, so an in-flight request keeps the view it started with.
 */
export class ProviderRegistry {
  /** Problems found in the config (unknown transformers, bad URLs…), for the app to log at startup. */
  readonly warnings: string[] = [];
  private readonly byName = new Map<string, ProviderConfig>();
  private readonly adapters: Record<ProviderKind, ProviderAdapter>;
  private readonly transformers: TransformerRegistry;

  constructor(providers: ProviderConfig[], deps: ProviderRegistryDeps) {
    this.transformers = deps.transformers ?? new TransformerRegistry();
    const adapterDeps = { client: deps.client, transformers: this.transformers };
    this.adapters = {
      anthropic: new AnthropicAdapter(adapterDeps),
      openai: new OpenAIAdapter(adapterDeps),
      gemini: new GeminiAdapter(adapterDeps),
    };
    for (const p of providers) {
      this.add(p);
    }
    for (const w of this.warnings) {
      deps.logger?.warn({ component: 'providers' }, w);
    }
  }

  /** Explicit `kind`, else CCR conventions: a transformer named "Anthropic" → anthropic, "gemini" → gemini. */
  kindOf(p: ProviderConfig): ProviderKind {
    if (p.kind && KINDS.includes(p.kind)) {
      return p.kind;
    }
    const names = useNames(p).map((n) => n.toLowerCase());
    if (names.includes('anthropic')) {
      return 'anthropic';
    }
    if (names.includes('gemini')) {
      return 'gemini';
    }
    return 'openai';
  }

  get(name: string): ProviderConfig | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** `provider,model` from a route or `/model` command → the configured spellings. */
  resolve(providerName: string, model: string): Target | undefined {
    const provider = this.get(providerName.trim());
    if (!provider) {
      return undefined;
    }
    const wanted = model.trim().toLowerCase();
    const configured = provider.models.find((m) => m.toLowerCase() === wanted);
    return configured === undefined ? undefined : { provider, model: configured };
  }

  adapterFor(target: Target): ProviderAdapter {
    return this.adapters[this.kindOf(target.provider)];
  }

  list(): Array<{ provider: string; model: string; kind: ProviderKind }> {
    const out: Array<{ provider: string; model: string; kind: ProviderKind }> = [];
    for (const p of this.byName.values()) {
      for (const model of p.models) {
        out.push({ provider: p.name, model, kind: this.kindOf(p) });
      }
    }
    return out;
  }

  private add(p: ProviderConfig): void {
    if (!p || typeof p.name !== 'string' || !p.name.trim()) {
      this.warnings.push(`provider entry without a name ignored`);
      return;
    }
    const key = p.name.toLowerCase();
    if (this.byName.has(key)) {
      this.warnings.push(`provider "${p.name}" is defined twice; the first definition is used`);
      return;
    }
    try {
      new URL(p.api_base_url);
    } catch {
      this.warnings.push(
        `provider "${p.name}": api_base_url "${String(p.api_base_url)}" is not a valid URL; provider ignored`,
      );
      return;
    }
    if (p.kind && !KINDS.includes(p.kind)) {
      this.warnings.push(
        `provider "${p.name}": unknown kind "${String(p.kind)}", inferring from transformers`,
      );
    }
    if (!Array.isArray(p.models) || p.models.length === 0) {
      this.warnings.push(`provider "${p.name}" lists no models`);
    }
    const models = Array.isArray(p.models) ? p.models : [];
    const normalized = models === p.models ? p : { ...p, models };
    this.byName.set(key, normalized);
    // Resolving every chain now surfaces unknown transformer names at startup, not on first use.
    const seen = new Set<string>();
    for (const model of models.length ? models : ['']) {
      for (const w of this.transformers.chainFor(normalized, model).warnings) {
        if (!seen.has(w)) {
          seen.add(w);
          this.warnings.push(w);
        }
      }
    }
  }
}
