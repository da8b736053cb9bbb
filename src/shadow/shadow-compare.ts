import type { RequestOutcome } from '../common/request-outcome';
import type { DigestSummary } from './answer-digest';
import type { ShadowDiff, ShadowSide, SideOutcome } from './shadow.types';

const minus = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : Math.round((a - b) * 10) / 10;

function primaryOutcome(o: RequestOutcome): SideOutcome {
  if (o.errorType === 'client_abort') {
    return 'aborted';
  }
  return o.errorType || o.status >= 400 ? 'error' : 'ok';
}

/**
 * The primary's side: status, target and error from its RequestOutcome; times, tokens, stop reason and text
 * from what the responder sent (the digest), measured from the same moment as the copy's. A primary that
 * failed before answering has no digest: its outcome's times and usage stand in.
 */
export function primarySide(outcome: RequestOutcome, sent: DigestSummary | undefined): ShadowSide {
  const usage = outcome.usage;
  const side: ShadowSide = {
    target: outcome.target,
    outcome: primaryOutcome(outcome),
    status: outcome.status,
    ttfbMs: sent?.ttfbMs ?? outcome.ttfbMs,
    durationMs: sent?.durationMs ?? outcome.durationMs,
    inputTokens:
      sent?.inputTokens ??
      (usage
        ? (usage.input_tokens ?? 0) +
          (usage.cache_read_input_tokens ?? 0) +
          (usage.cache_creation_input_tokens ?? 0)
        : undefined),
    outputTokens: sent?.outputTokens ?? usage?.output_tokens,
    stopReason: sent?.stopReason,
    textHash: sent?.textHash,
    cache: outcome.cache === 'HIT',
  };
  if (outcome.errorType) {
    side.error = outcome.errorType;
  }
  return side;
}

/** Copy minus primary; `same*` compare as they are (two failures with no stop reason are the same). */
export function diffSides(primary: ShadowSide, shadow: ShadowSide): ShadowDiff {
  return {
    ttfbMs: minus(shadow.ttfbMs, primary.ttfbMs),
    durationMs: minus(shadow.durationMs, primary.durationMs),
    outputTokens: minus(shadow.outputTokens, primary.outputTokens),
    sameOutcome: primary.outcome === shadow.outcome,
    sameStopReason: primary.stopReason === shadow.stopReason,
    sameText: primary.textHash === shadow.textHash,
  };
}
