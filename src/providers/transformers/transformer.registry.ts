import type { ProviderConfig } from '../provider.types';
import { REQUEST_TRANSFORMERS } from './request.transformers';
import { RESPONSE_TRANSFORMERS } from './response.transformers';
import { isObject } from './json-utils';
import type { JsonObject, Transformer, TransformerFactory } from './transformer.types';

export interface ResolvedChain {
  transformers: Transformer[];
  /** Names as written in the config, lower-cased (kind inference reads them). */
  names: string[];
  warnings: string[];
}

function parseUse(use: unknown): { name: string; options: JsonObject } | undefined {
  if (typeof use === 'string') {
    return { name: use, options: {} };
  }
  if (Array.isArray(use) && typeof use[0] === 'string') {
    return { name: use[0], options: isObject(use[1]) ? use[1] : {} };
  }
  return undefined;
}

/** `transformer[model]` may be `{use: [...]}` or a bare list; model keys match case-insensitively. */
function modelUses(provider: ProviderConfig, model: string): unknown[] {
  const cfg = provider.transformer;
  if (!cfg) {
    return [];
  }
  const key = Object.keys(cfg).find((k) => k !== 'use' && k.toLowerCase() === model.toLowerCase());
  const entry: unknown = key === undefined ? undefined : cfg[key];
  if (Array.isArray(entry)) {
    return entry;
  }
  return isObject(entry) && Array.isArray(entry.use) ? entry.use : [];
}

/**
 * Name → factory table (built-ins + custom modules) and the per-provider/model chains built from it.
 * Transformer instances are shared by every request of that provider/model, so they must keep no
 * per-request state (per-request stream state lives in the ResponseTransform that `response()` returns).
 */
export class TransformerRegistry {
  private readonly factories = new Map<string, TransformerFactory>();
  private readonly chains = new WeakMap<ProviderConfig, Map<string, ResolvedChain>>();

  constructor(custom: Array<{ name: string; factory: TransformerFactory }> = []) {
    for (const [name, factory] of Object.entries({ ...REQUEST_TRANSFORMERS, ...RESPONSE_TRANSFORMERS })) {
      this.register(name, factory);
    }
    for (const c of custom) {
      this.register(c.name, c.factory);
    }
  }

  /** Later registrations win, so a custom module can replace a built-in of the same name. */
  register(name: string, factory: TransformerFactory): void {
    this.factories.set(name.toLowerCase(), factory);
  }

  has(name: string): boolean {
    return this.factories.has(name.toLowerCase());
  }

  names(): string[] {
    return [...this.factories.keys()].sort();
  }

  /** The provider's `use` chain, then the model's; cached per ProviderConfig object (config reloads swap them). */
  chainFor(provider: ProviderConfig, model: string): ResolvedChain {
    let perModel = this.chains.get(provider);
    if (!perModel) {
      perModel = new Map();
      this.chains.set(provider, perModel);
    }
    const key = model.toLowerCase();
    let chain = perModel.get(key);
    if (!chain) {
      const tagged = [
        ...(provider.transformer?.use ?? []).map((use) => ({ use, where: `provider "${provider.name}"` })),
        ...modelUses(provider, model).map((use) => ({
          use,
          where: `provider "${provider.name}" model "${model}"`,
        })),
      ];
      chain = this.build(tagged);
      perModel.set(key, chain);
    }
    return chain;
  }

  private build(uses: Array<{ use: unknown; where: string }>): ResolvedChain {
    const chain: ResolvedChain = { transformers: [], names: [], warnings: [] };
    for (const { use, where } of uses) {
      const parsed = parseUse(use);
      if (!parsed) {
        chain.warnings.push(`${where}: invalid transformer entry ${JSON.stringify(use)} ignored`);
        continue;
      }
      chain.names.push(parsed.name.toLowerCase());
      const factory = this.factories.get(parsed.name.toLowerCase());
      if (!factory) {
        chain.warnings.push(
          `${where}: unknown transformer "${parsed.name}" ignored (known: ${this.names().join(', ')})`,
        );
        continue;
      }
      try {
        chain.transformers.push(factory(parsed.options));
      } catch (err) {
        chain.warnings.push(`${where}: transformer "${parsed.name}" failed to initialise: ${String(err)}`);
      }
    }
    return chain;
  }
}
