import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { presentedKey } from '../auth/api-key.guard';
import { onAnswerUsage } from '../common/request-hooks';
import { FeaturesService } from '../features/features.service';
import { GatewayError } from '../protocol/errors';
import type { Usage } from '../protocol/types';
import { clientLimitHeaders } from './client-limit-headers';
import { RateLimitService, type ClientIdentity, type ClientVerdict } from './rate-limit.service';
import { estimateRequestTokens } from './request-estimate';

/** The routes that cost upstream tokens; count_tokens, models, health and /api are never limited. */
const LIMITED = new Set(['/v1/messages', '/v1/chat/completions', '/v1/messages/batches']);

/** Everything the answer consumed upstream: input (with cache reads and writes) and output. */
const usedTokens = (u: Usage): number =>
  (u.input_tokens ?? 0) +
  (u.output_tokens ?? 0) +
  (u.cache_creation_input_tokens ?? 0) +
  (u.cache_read_input_tokens ?? 0);

function bodyBytes(request: FastifyRequest): number | undefined {
  const raw = request.headers['content-length'];
  const n = typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * Client RPM/TPM before any work is done (after ApiKeyGuard). Admitted requests carry
 * `x-ratelimit-*` headers; refused ones get a 429 `rate_limit_error` with `retry-after`, in the client's own
 * error format (AllExceptionsFilter). The token estimate charged here is settled once the answer's usage is
 * known (the responder's usage hook): a cache hit gives it all back, a failed request too.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly limits: RateLimitService,
    private readonly features: FeaturesService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.limits.active || context.getType() !== 'http') {
      return true;
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // The route that matched, not the URL as sent: `/v1/%6dessages` reaches the same handler.
    const path = request.routeOptions.url ?? request.url.split('?')[0];
    if (request.method !== 'POST' || !LIMITED.has(path)) {
      return true;
    }
    // The `rateLimit` feature flag (docs/features.md): this request's decision is made here, the body parsed.
    if (!this.features.featuresOf(request).rateLimit) {
      return true;
    }
    const who = this.limits.identify(presentedKey(request.headers), request.ip);
    if (who.limits.rpm <= 0 && who.limits.tpm <= 0) {
      return true;
    }
    const estimate =
      who.limits.tpm > 0
        ? estimateRequestTokens(
            request.body,
            bodyBytes(request),
            path === '/v1/messages/batches',
            this.limits.maxTokensEstimate,
          )
        : 0;
    const verdict = await this.limits.admit(who, estimate);
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const headers = limitHeaders(who, verdict, path !== '/v1/chat/completions');
    if (!verdict.allowed) {
      const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
      const what =
        verdict.limitedBy === 'requests'
          ? `${who.limits.rpm} requests per minute`
          : `${who.limits.tpm} tokens per minute`;
      throw new GatewayError(
        429,
        `Rate limit exceeded: this client may send ${what}; retry in ${seconds} s`,
        {
          type: 'rate_limit_error',
          headers: { ...headers, 'retry-after': String(seconds) },
        },
      );
    }
    void reply.headers(headers);
    if (verdict.chargedTokens > 0) {
      this.settleLater(request, reply, who, verdict.chargedTokens);
    }
    return true;
  }

  private settleLater(
    request: FastifyRequest,
    reply: FastifyReply,
    who: ClientIdentity,
    charged: number,
  ): void {
    let settled = false;
    onAnswerUsage(request.raw, (usage, _target, { cache }) => {
      settled = true;
      // A cache hit cost the upstream nothing.
      void this.limits.settle(who, (cache ? 0 : usedTokens(usage)) - charged);
    });
    reply.raw.once('close', () => {
      // No answer (refused upstream, failed before the first byte): nothing was consumed. A stream cut
      // after its start keeps the estimate — the upstream did work.
      if (!settled && reply.raw.statusCode >= 400) {
        void this.limits.settle(who, -charged);
      }
    });
  }
}

function limitHeaders(who: ClientIdentity, v: ClientVerdict, anthropic: boolean): Record<string, string> {
  const window = (limit: number, remaining: number | undefined) =>
    remaining === undefined ? undefined : { limit, remaining };
  return clientLimitHeaders(
    {
      requests: window(who.limits.rpm, v.remainingRequests),
      tokens: window(who.limits.tpm, v.remainingTokens),
    },
    anthropic,
    Date.now(),
  );
}
