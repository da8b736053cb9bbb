import type { RequestOutcome } from '../common/request-outcome';

/**
 * The `outcome` label of `switchyard_requests_total` and the SLA's reading of a finished request: only
 * `upstream_error` and `gateway_error` count against availability; client errors and aborts are left out.
 */
export type OutcomeClass = 'success' | 'client_error' | 'client_abort' | 'upstream_error' | 'gateway_error';

export function outcomeClass(o: RequestOutcome): OutcomeClass {
  if (o.errorType === 'client_abort') {
    return 'client_abort';
  }
  switch (o.errorSource) {
    case 'client':
      return 'client_error';
    case 'upstream':
      return 'upstream_error';
    case 'gateway':
      return 'gateway_error';
    case undefined:
      break;
  }
  if (o.status >= 500) {
    return 'gateway_error';
  }
  return o.status >= 400 ? 'client_error' : o.errorType ? 'upstream_error' : 'success';
}

/** "provider,model" → its two labels (the model keeps any further commas). */
export function splitTarget(target: string | undefined): [provider: string, model: string] {
  if (!target) {
    return ['none', 'none'];
  }
  const i = target.indexOf(',');
  return i < 0 ? [target, ''] : [target.slice(0, i), target.slice(i + 1)];
}
