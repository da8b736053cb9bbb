import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { ALL_FEATURES_ON, type FeatureSet } from '../features/feature-set';
import { GatewayError } from '../protocol/errors';
import type { CanonicalRequest } from '../protocol/types';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { TracingService } from '../tracing/tracing.service';
import type { TraceCarrier } from '../tracing/trace-carrier';
import { FailoverCounters } from './failover-counters';
import { FailoverService, type FailoverInput, type FailoverResult } from './failover.service';
import { ResumingStream } from './resuming-stream';
import type { ResumeSettings } from './stream-resume';

/** Client headers an upstream call may need (adapters read the Anthropic ones); the rest stay at the edge. */
const FORWARDED_HEADERS = ['anthropic-beta', 'anthropic-version', 'user-agent', 'x-claude-code-session-id'];

/**
 * Everything one upstream call needs, as plain JSON: it is what a queue job carries to a worker on
 * another process, and what the direct path runs in place.
 */
export interface UpstreamJob {
  requestId: string;
  /** The routed request, `stream` already set to how the upstream is called. */
  request: CanonicalRequest;
  /** The model name the client asked for (echoed in answers). */
  clientModel: string;
  /** Routed target first, then its fallbacks. */
  chain: string[];
  scenario: string;
  longContextTarget?: string;
  tokenCount: number;
  headers: Record<string, string>;
  /** The request class' priority (higher first) for provider slots. */
  priority: number;
  /** Longest wait for a provider slot. */
  maxSlotWaitMs?: number;
  /** Session affinity's pinned target. */
  preferred?: string;
  /** The request's trace context (Tracing on), carried to whichever process runs the job. */
  trace?: TraceCarrier;
  /** The request's feature flags (a plain object, so it survives the queue); absent = all on. */
  features?: FeatureSet;
  /** The client reads the answer in one piece (non-stream): failover holds until the answer is complete. */
  wholeAnswer?: boolean;
}

export function forwardedHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const v = headers[name];
    const value = Array.isArray(v) ? v.join(',') : v;
    if (value) {
      out[name] = value;
    }
  }
  return out;
}

/** Puts the already-pulled head back in front of the rest (re-exported: the gateway uses it). */
export { prepend } from '../common/event-iterators';

/**
 * One request's upstream work: the failover chain over the providers' adapters, under adaptive timeouts
 * and provider slots, and the resume of a streamed answer that breaks after its first event. The direct
 * path and queue workers both run it, so queued requests behave exactly like direct ones.
 */
@Injectable()
export class UpstreamCallService {
  constructor(
    private readonly failover: FailoverService,
    private readonly providers: ProviderRegistryService,
    private readonly logger: PinoLogger,
    private readonly tracing: TracingService,
    private readonly config: AppConfigService,
    private readonly counters: FailoverCounters,
  ) {
    this.logger.setContext('upstream');
  }

  call(job: UpstreamJob, signal: AbortSignal): Promise<FailoverResult> {
    return this.tracing.continueFrom(job.trace, () => this.execute(job, signal));
  }

  private async execute(job: UpstreamJob, signal: AbortSignal): Promise<FailoverResult> {
    const result = await this.failover.execute(this.failoverInput(job, job.request, signal));
    const settings = this.resumeSettings(job);
    if (!settings) {
      return result;
    }
    const features = job.features ?? ALL_FEATURES_ON;
    const events = new ResumingStream(
      result,
      { settings, request: job.request, signal },
      {
        continueWith: (request, exclude, resumeSignal, prefillTokens) =>
          this.tracing.continueFrom(job.trace, () =>
            this.failover.execute({
              ...this.failoverInput(job, request, resumeSignal),
              inputTokens: job.tokenCount + prefillTokens,
              exclude: [...exclude],
            }),
          ),
        targetsLeft: (exclude) =>
          this.failover.buildChain(job.chain, features.failover).filter((t) => !exclude.has(t)).length,
        counters: this.counters,
        logger: this.logger,
      },
    );
    return { ...result, events };
  }

  /**
   * `Failover.resume` when this request's answer may be resumed (read per request: the section reloads):
   * a streaming client (a non-stream one already gets whole-answer failover), a streaming upstream call,
   * failover on for the request.
   */
  private resumeSettings(job: UpstreamJob): ResumeSettings | undefined {
    const f = this.config.get('Failover');
    const features = job.features ?? ALL_FEATURES_ON;
    const on =
      f.resume.enabled &&
      f.resume.maxResumes > 0 &&
      f.enabled &&
      features.failover &&
      job.request.stream === true &&
      job.wholeAnswer !== true;
    return on ? { ...f.resume } : undefined;
  }

  private failoverInput(job: UpstreamJob, request: CanonicalRequest, signal: AbortSignal): FailoverInput {
    return {
      chain: job.chain,
      scenario: job.scenario,
      longContextTarget: job.longContextTarget,
      inputTokens: job.tokenCount,
      maxTokens: request.max_tokens,
      model: job.clientModel,
      stream: request.stream === true,
      signal,
      priority: job.priority,
      maxSlotWaitMs: job.maxSlotWaitMs,
      preferred: job.preferred,
      features: job.features,
      wholeAnswer: job.wholeAnswer,
      attempt: (reference, attemptSignal, onData) => {
        const target = this.providers.target(reference);
        if (!target) {
          throw new GatewayError(404, `model: ${reference} is not a configured "provider,model"`, {
            type: 'not_found_error',
          });
        }
        return this.providers.adapterFor(target).send(request, target, {
          requestId: job.requestId,
          signal: attemptSignal,
          clientHeaders: job.headers,
          inputTokensEstimate: job.tokenCount,
          clientModel: job.clientModel,
          onUpstreamData: onData,
          logger: this.logger,
        });
      },
    };
  }
}
