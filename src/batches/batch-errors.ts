import { GatewayError, errorTypeForStatus } from '../protocol/errors';
import type { ErrorPayload } from '../protocol/types';
import { ProviderError } from '../providers/provider.types';

export interface JobFailure {
  /** Worth another attempt (upstream overloaded, rate limited, unreachable, timed out). */
  retryable: boolean;
  error: ErrorPayload;
  /** Neither a gateway nor an upstream error: a bug worth a log line with its stack. */
  unexpected: boolean;
}

/** The statuses the Anthropic SDK itself retries; everything else is the request's own fault and final. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** How a failed batch request is recorded: as an Anthropic error, retried first when it may pass later. */
export function classifyFailure(err: unknown): JobFailure {
  if (err instanceof GatewayError) {
    return { retryable: retryableStatus(err.status), error: err.toPayload(), unexpected: false };
  }
  if (err instanceof ProviderError) {
    return {
      retryable: err.retryable || err.kind === 'connect' || err.kind === 'timeout',
      error: { type: errorTypeForStatus(err.status), message: err.message },
      unexpected: false,
    };
  }
  return {
    retryable: true,
    // Our own fault: the details go to the log, not into the client's results.
    error: { type: 'api_error', message: 'Internal server error' },
    unexpected: true,
  };
}
