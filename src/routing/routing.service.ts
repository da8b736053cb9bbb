import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { routingWarnings } from '../config/config-references';
import { AppConfigService } from '../config/config.service';
import { countRequestTokens, warmTokenizer } from '../protocol/tokens';
import type { CanonicalRequest } from '../protocol/types';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { loadCustomRouter, type CustomRouterFn } from './custom-router';
import { decideRoute, type RouteDecision, type RouterSlots } from './router';
import { sessionIdOf } from './session';
import { SessionUsageMemory } from './session-usage';

export interface RoutedRequest extends RouteDecision {
  tokenCount: number;
  sessionId?: string;
}

/** Chooses the target of each request (CCR's scenarios) and remembers each session's context size. */
@Injectable()
export class RoutingService implements OnModuleInit, OnModuleDestroy {
  private customRouter?: CustomRouterFn;
  private unsubscribe?: () => void;
  private readonly sessions = new SessionUsageMemory();

  constructor(
    private readonly config: AppConfigService,
    private readonly providers: ProviderRegistryService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('routing');
  }

  onModuleInit(): void {
    // Loading the BPE ranks takes a while; pay it at boot, not on the first request.
    warmTokenizer();
    // CCR sent a slot's target upstream whether or not its provider listed the model; here such a slot is
    // skipped, so say so once rather than let `think` requests quietly go to the default model.
    for (const warning of routingWarnings(this.config.all)) {
      this.logger.warn(warning);
    }
    this.loadCustomRouter(this.config.get('CUSTOM_ROUTER_PATH'));
    // Router slots and fallbacks are read per request; only the custom router module is held.
    this.unsubscribe = this.config.onChange((next, previous) => {
      if (next.CUSTOM_ROUTER_PATH !== previous.CUSTOM_ROUTER_PATH) {
        this.loadCustomRouter(next.CUSTOM_ROUTER_PATH);
      }
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  private loadCustomRouter(path: string | undefined): void {
    if (!path) {
      this.customRouter = undefined;
      return;
    }
    try {
      this.customRouter = loadCustomRouter(path);
      this.logger.info({ path }, 'custom router loaded');
    } catch (err) {
      this.customRouter = undefined;
      this.logger.error({ err, path }, 'custom router could not be loaded; built-in routing only');
    }
  }

  async route(request: CanonicalRequest, headers: Record<string, unknown>): Promise<RoutedRequest> {
    const tokenCount = countRequestTokens(request);
    const sessionId = sessionIdOf(request, headers);
    const customTarget = await this.runCustomRouter(request, headers, tokenCount, sessionId);
    const decision = decideRoute({
      request,
      tokenCount,
      previousInputTokens: this.sessions.get(sessionId),
      customTarget,
      router: this.config.get('Router') as RouterSlots,
      fallback: this.config.get('fallback'),
      resolve: (reference) => this.providers.canonical(reference),
    });
    if (decision.unknownSubagentTarget !== undefined) {
      // CCR would have failed the request; a misspelt tag must not silently run the subagent elsewhere.
      this.logger.warn(
        { tag: decision.unknownSubagentTarget, scenario: decision.scenario, target: decision.target },
        'CCR-SUBAGENT-MODEL tag names a provider,model that is not configured; tag ignored',
      );
    }
    return { ...decision, tokenCount, sessionId };
  }

  /** Where a context-window overflow moves to (the Router's longContext slot), if configured. */
  longContextTarget(): string | undefined {
    const slot = this.config.get('Router').longContext;
    const head = Array.isArray(slot) ? slot[0] : slot;
    return typeof head === 'string' ? this.providers.canonical(head) : undefined;
  }

  /** Called with the usage of a finished answer. */
  recordUsage(sessionId: string | undefined, inputTokens: number): void {
    this.sessions.set(sessionId, inputTokens);
  }

  private async runCustomRouter(
    request: CanonicalRequest,
    headers: Record<string, unknown>,
    tokenCount: number,
    sessionId: string | undefined,
  ): Promise<string | null> {
    if (!this.customRouter) {
      return null;
    }
    try {
      // `log` as on CCR's req (a Fastify request): routers written for CCR call req.log.info(…).
      const result = await this.customRouter(
        { body: request, headers, tokenCount, sessionId, log: this.logger },
        this.config.all,
        { log: this.logger },
      );
      if (typeof result === 'string' && result.length > 0) {
        if (this.providers.canonical(result) === undefined) {
          this.logger.warn({ result }, 'custom router returned a target that is not configured; using built-in routing');
          return null;
        }
        return result;
      }
      return null;
    } catch (err) {
      this.logger.warn({ err }, 'custom router failed; using built-in routing');
      return null;
    }
  }
}
