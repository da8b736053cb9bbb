import { providerHealthSchema, type SwitchyardConfig } from './config.schema';

const ROUTER_SLOTS = ['default', 'background', 'think', 'longContext', 'webSearch', 'image'] as const;

/**
 * Problems the schema cannot see because they span sections: a Router slot, `fallback` entry or
 * `Failover.providers` target naming a provider (or a model of it) that `Providers` does not define, and a
 * provider `health` block the probes would refuse. One line per problem, in ConfigError's format. A reload
 * with any of them is rejected (the boot only warns about some, for CCR compatibility).
 */
export function referenceProblems(config: SwitchyardConfig): string[] {
  const providers = new Map(config.Providers.map((p) => [p.name.trim().toLowerCase(), p]));
  const problems: string[] = [];
  const check = (path: string, reference: string): void => {
    const comma = reference.indexOf(',');
    const name = reference.slice(0, comma).trim();
    const model = reference.slice(comma + 1).trim();
    const provider = providers.get(name.toLowerCase());
    if (!provider) {
      problems.push(`  - ${path}: "${reference}" names provider "${name}", which is not in Providers`);
    } else if (!provider.models.some((m) => m.toLowerCase() === model.toLowerCase())) {
      problems.push(
        `  - ${path}: "${reference}" names model "${model}", which provider "${provider.name}" does not list`,
      );
    }
  };
  const checkAll = (path: string, value: unknown): void => {
    if (typeof value === 'string') {
      check(path, value);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => typeof v === 'string' && check(`${path}[${i}]`, v));
    }
  };
  for (const slot of ROUTER_SLOTS) {
    checkAll(`Router.${slot}`, config.Router[slot]);
  }
  for (const [scenario, targets] of Object.entries(config.fallback ?? {})) {
    checkAll(`fallback.${scenario}`, targets);
  }
  checkAll('Failover.providers.primary', config.Failover.providers.primary);
  checkAll('Failover.providers.fallback', config.Failover.providers.fallback);
  config.Providers.forEach((p, i) => {
    const health: unknown = (p as { health?: unknown }).health;
    if (health === undefined) {
      return;
    }
    const parsed = providerHealthSchema.safeParse(health);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push(`  - Providers[${i}].health.${issue.path.join('.')}: ${issue.message}`);
      }
    }
  });
  return problems;
}

/**
 * What the boot says about routing it will quietly skip (a CCR file loads as it is, but CCR sent such targets
 * upstream anyway): a Router slot or `fallback` target naming no configured provider/model, and a Router key
 * that is no scenario (`websearch` for `webSearch`). One line each, for the log.
 */
export function routingWarnings(config: SwitchyardConfig): string[] {
  const warnings: string[] = [];
  for (const slot of Object.keys(config.Router)) {
    if (slot !== 'longContextThreshold' && !(ROUTER_SLOTS as readonly string[]).includes(slot)) {
      warnings.push(`Router.${slot} is not a scenario (${ROUTER_SLOTS.join(', ')}); only a custom router can use it`);
    }
  }
  for (const line of referenceProblems(config)) {
    const problem = line.replace(/^\s*-\s*/, '');
    if (/^(Router|fallback)\./.test(problem)) {
      warnings.push(`${problem}; skipped when routing (a hot reload is rejected until this is fixed)`);
    }
  }
  return warnings;
}
