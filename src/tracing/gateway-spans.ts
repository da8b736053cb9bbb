import type { Span } from '@opentelemetry/api';

/**
 * Attribute setters for the gateway's own spans: each records what the stage decided and hands its value
 * on, so a traced stage stays one expression in GatewayService. Structural parameter types keep tracing a
 * leaf (no import of the stages' modules).
 */

export function routed<
  R extends { scenario: string; target: string; fallbacks: string[]; tokenCount: number },
>(span: Span, route: R): R {
  span.setAttributes({
    'switchyard.scenario': route.scenario,
    'switchyard.target': route.target,
    'switchyard.fallbacks': route.fallbacks.length,
    'switchyard.input_tokens_estimate': route.tokenCount,
  });
  return route;
}

export function looked<H extends { tier: string; target: string } | undefined>(span: Span, hit: H): H {
  span.setAttribute('switchyard.cache.hit', hit !== undefined);
  if (hit) {
    span.setAttributes({ 'switchyard.cache.tier': hit.tier, 'switchyard.target': hit.target });
  }
  return hit;
}

export function joinedAs<J extends { role?: string }>(span: Span, joined: J): J {
  if (joined.role) {
    span.setAttribute('switchyard.dedup.role', joined.role);
  }
  return joined;
}
