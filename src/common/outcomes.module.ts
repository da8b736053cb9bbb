import { Global, Module } from '@nestjs/common';
import { RequestArrivalHook } from './request-arrival.hook';
import { RequestOutcomeService } from './request-outcome';
import { ShutdownService } from './shutdown.service';

/**
 * Global: the request path emits finished requests here; metrics, SLA, history and the status page listen.
 * The shutdown drain lives here too: the arrival hook turns new requests away once it started, and modules
 * whose own shutdown waits start it first.
 */
@Global()
@Module({
  providers: [RequestOutcomeService, RequestArrivalHook, ShutdownService],
  exports: [RequestOutcomeService, RequestArrivalHook, ShutdownService],
})
export class OutcomesModule {}
