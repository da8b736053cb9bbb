import { Global, Module } from '@nestjs/common';
import { TracingService } from './tracing.service';

/**
 * OpenTelemetry tracing (docs/observability.md#tracing). Global so every stage of the request path can
 * open its spans; modules that are also built on their own in tests (failover) import it explicitly.
 */
@Global()
@Module({ providers: [TracingService], exports: [TracingService] })
export class TracingModule {}
