import { boundedModel } from '../common/client-model';
import { GatewayError } from '../protocol/errors';
import type { CanonicalRequest, ToolResultBlock } from '../protocol/types';
import { extractSubagentTag } from './subagent-tag';

export type Scenario =
  | 'custom'
  | 'explicit'
  | 'longContext'
  | 'subagent'
  | 'background'
  | 'webSearch'
  | 'think'
  | 'image'
  | 'default';

/** The Router section (CCR shape): each slot is "provider,model" or a list whose tail are fallbacks. */
export interface RouterSlots {
  longContextThreshold: number;
  [slot: string]: string | string[] | number | undefined;
}

export interface RouteInput {
  request: CanonicalRequest;
  tokenCount: number;
  /** Input tokens the session's previous turn used (CCR's lastUsage rule for long context). */
  previousInputTokens?: number;
  /** Target returned by the custom router, if one is configured and answered. */
  customTarget?: string | null;
  router: RouterSlots;
  fallback?: Record<string, string[]>;
  /** Canonical spelling of a "provider,model" reference, or undefined when not configured. */
  resolve(reference: string): string | undefined;
}

export interface RouteDecision {
  scenario: Scenario;
  target: string;
  /** Further targets to try, in order (Router slot lists, then `fallback.<scenario>`). */
  fallbacks: string[];
  /** The request to forward (subagent tag removed, `[1m]` stripped). */
  request: CanonicalRequest;
  /** A subagent tag named this target, which is not configured: the tag was ignored (worth a warning). */
  unknownSubagentTarget?: string;
}

const SESSION_LONG_MIN_TOKENS = 20_000;

/** Claude Code's 1M-context alias suffix. */
export function stripContextSuffix(model: string): string {
  return model.replace(/\[1m\]$/i, '');
}

function slotTargets(router: RouterSlots, slot: string): string[] {
  const value = router[slot];
  if (typeof value === 'string') {
    return [value];
  }
  return Array.isArray(value) ? value : [];
}

/**
 * CCR's image agent test: the last user turn carries an image, pasted (an image block) or read by a tool (an
 * image inside a tool_result, which is how Claude Code's Read tool returns an image file).
 */
function lastUserMessageHasImage(req: CanonicalRequest): boolean {
  const carriesImage = (block: { type: string }): boolean => {
    const nested = block.type === 'tool_result' ? (block as ToolResultBlock).content : undefined;
    return block.type === 'image' || (Array.isArray(nested) && nested.some((c) => c.type === 'image'));
  };
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i];
    if (m.role === 'user') {
      return Array.isArray(m.content) && m.content.some(carriesImage);
    }
  }
  return false;
}

/**
 * CCR's routing precedence, exactly: custom router → image → explicit `provider,model` → longContext →
 * subagent tag → background (haiku) → webSearch → think → default. Image comes first because CCR's image
 * agent rewrites the model to `Router.image` before its router runs (so it also wins over the client's
 * `provider,model`). A scenario whose Router slot is not configured falls through to the next one.
 */
export function decideRoute(input: RouteInput): RouteDecision {
  const { router } = input;
  const model = stripContextSuffix(String(input.request.model));
  const subagent = extractSubagentTag(input.request);
  const request = { ...subagent.request, model };
  const decide = (scenario: Scenario, targets: string[]): RouteDecision | undefined => {
    const resolved = targets.map((t) => input.resolve(t)).filter((t): t is string => t !== undefined);
    if (resolved.length === 0) {
      return undefined;
    }
    const extra = (input.fallback?.[scenario] ?? [])
      .map((t) => input.resolve(t))
      .filter((t): t is string => !!t);
    const fallbacks = [...new Set([...resolved.slice(1), ...extra])].filter((t) => t !== resolved[0]);
    return { scenario, target: resolved[0], fallbacks, request };
  };

  if (input.customTarget) {
    const custom = decide('custom', [input.customTarget]);
    if (custom) {
      return custom;
    }
  }
  if (lastUserMessageHasImage(input.request)) {
    const image = decide('image', slotTargets(router, 'image'));
    if (image) {
      return image;
    }
  }
  if (model.includes(',')) {
    const explicit = decide('explicit', [model]);
    if (!explicit) {
      // CCR forwards any model of a configured provider; here the model must be in the provider's `models`.
      throw new GatewayError(
        404,
        `model: ${boundedModel(model)} is not a configured "provider,model" (the provider must be in Providers and the model ` +
          'in its "models"; GET /v1/models lists them)',
        { type: 'not_found_error' },
      );
    }
    return explicit;
  }
  // Only the rules after the subagent one can be reached past an unresolvable tag.
  const withUnknownSubagent = (decision: RouteDecision): RouteDecision =>
    subagent.target !== undefined &&
    input.resolve(subagent.target) === undefined &&
    decision.scenario !== 'longContext'
      ? { ...decision, unknownSubagentTarget: subagent.target }
      : decision;
  const threshold = router.longContextThreshold;
  // CCR's lastUsage rule: a session whose last turn was long stays there while this turn is still sizeable
  // (> 20k), so small side requests of the same session are not dragged to the long-context model.
  const sessionWasLong =
    (input.previousInputTokens ?? 0) > threshold && input.tokenCount > SESSION_LONG_MIN_TOKENS;
  const candidates: Array<[Scenario, boolean]> = [
    ['longContext', input.tokenCount > threshold || sessionWasLong],
    ['subagent', subagent.target !== undefined],
    ['background', model.toLowerCase().includes('haiku')],
    [
      'webSearch',
      (input.request.tools ?? []).some((t) => typeof t.type === 'string' && t.type.startsWith('web_search')),
    ],
    ['think', input.request.thinking?.type === 'enabled' || input.request.thinking?.type === 'adaptive'],
  ];
  for (const [scenario, applies] of candidates) {
    if (!applies) {
      continue;
    }
    const targets = scenario === 'subagent' ? [subagent.target as string] : slotTargets(router, scenario);
    const decision = decide(scenario, targets);
    if (decision) {
      return withUnknownSubagent(decision);
    }
  }
  const fallbackDefault = decide('default', slotTargets(router, 'default'));
  if (fallbackDefault) {
    return withUnknownSubagent(fallbackDefault);
  }
  throw new GatewayError(
    503,
    'No route: configure Providers and Router.default (see docs/configuration.md)',
    {
      type: 'api_error',
      headers: { 'x-should-retry': 'false' },
    },
  );
}
