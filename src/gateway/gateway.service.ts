import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { GatewayError, statusForErrorType } from '../protocol/errors';
import { countRequestTokens } from '../protocol/tokens';
import type { CanonicalRequest, StreamEvent, Usage } from '../protocol/types';
import type { Target } from '../providers/provider.types';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { RoutingService, type RoutedRequest } from '../routing/routing.service';

export interface GatewayAnswer {
  route: RoutedRequest;
  /** "provider,model" that is serving the answer. */
  target: string;
  /** Events already pulled (the first one), to be written before the rest. */
  head: StreamEvent[];
  events: AsyncIterator<StreamEvent>;
}

export interface OpenOptions {
  headers: Record<string, string | string[] | undefined>;
  signal: AbortSignal;
  requestId: string;
}

const totalInput = (u: Partial<Usage> | undefined): number =>
  (u?.input_tokens ?? 0) + (u?.cache_read_input_tokens ?? 0) + (u?.cache_creation_input_tokens ?? 0);

/**
 * Routes a canonical request and opens the upstream answer. Everything before the first event is
 * retriable and reported as an HTTP error; the caller commits (writes the first byte) afterwards.
 */
@Injectable()
export class GatewayService {
  constructor(
    private readonly routing: RoutingService,
    private readonly providers: ProviderRegistryService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('gateway');
  }

  async open(request: CanonicalRequest, opts: OpenOptions): Promise<GatewayAnswer> {
    const route = await this.routing.route(request, opts.headers);
    const target = this.providers.target(route.target) as Target;
    const adapter = this.providers.adapterFor(target);
    this.logger.debug({ scenario: route.scenario, target: route.target, tokens: route.tokenCount }, 'routed');
    const events = await adapter.send(route.request, target, {
      requestId: opts.requestId,
      signal: opts.signal,
      clientHeaders: opts.headers,
      inputTokensEstimate: route.tokenCount,
      clientModel: String(request.model),
      logger: this.logger,
    });
    const iterator = this.trackUsage(events, route.sessionId)[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done) {
      throw new GatewayError(502, `upstream ${route.target} ended without answering`, { type: 'api_error' });
    }
    if (first.value.type === 'error') {
      await iterator.return?.(undefined);
      const { type, message } = first.value.error;
      throw new GatewayError(statusForErrorType(type), message, { type });
    }
    return { route, target: route.target, head: [first.value], events: iterator };
  }

  /** Local token count (the same function the router uses), or the upstream's where supported. */
  async countTokens(request: CanonicalRequest, opts: OpenOptions): Promise<number> {
    const local = countRequestTokens(request);
    let route: RoutedRequest;
    try {
      route = await this.routing.route(request, opts.headers);
    } catch {
      return local;
    }
    const target = this.providers.target(route.target) as Target;
    const adapter = this.providers.adapterFor(target);
    if (!adapter.countTokens) {
      return local;
    }
    try {
      const upstream = await adapter.countTokens(route.request, target, {
        requestId: opts.requestId,
        signal: opts.signal,
        clientHeaders: opts.headers,
        inputTokensEstimate: local,
        clientModel: String(request.model),
        logger: this.logger,
      });
      return upstream ?? local;
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'upstream count_tokens failed; local count used');
      return local;
    }
  }

  /** Remembers the session's context size for the long-context rule once the answer has its usage. */
  private async *trackUsage(events: AsyncIterable<StreamEvent>, sessionId: string | undefined): AsyncGenerator<StreamEvent> {
    let input = 0;
    for await (const ev of events) {
      if (ev.type === 'message_start') {
        input = totalInput(ev.message.usage);
      } else if (ev.type === 'message_delta' && ev.usage.input_tokens !== undefined) {
        input = totalInput(ev.usage);
      } else if (ev.type === 'message_stop') {
        this.routing.recordUsage(sessionId, input);
      }
      yield ev;
    }
  }
}
