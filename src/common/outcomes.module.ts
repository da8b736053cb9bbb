import { Global, Module } from '@nestjs/common';
import { RequestArrivalHook } from './request-arrival.hook';
import { RequestOutcomeService } from './request-outcome';

/** Global: the request path emits finished requests here; metrics, SLA, history and the status page listen. */
@Global()
@Module({ providers: [RequestOutcomeService, RequestArrivalHook], exports: [RequestOutcomeService, RequestArrivalHook] })
export class OutcomesModule {}
