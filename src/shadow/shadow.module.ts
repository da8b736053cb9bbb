import { Module } from '@nestjs/common';
import { FailoverModule } from '../failover/failover.module';
import { GatewayModule } from '../gateway/gateway.module';
import { ProvidersModule } from '../providers/providers.module';
import { ShadowController } from './shadow.controller';
import { ShadowMetrics } from './shadow-metrics';
import { ShadowService } from './shadow.service';

/**
 * Shadow runs (docs/shadow.md). It plugs into the gateway through `RequestMirror`, so the dependency points
 * one way: shadow → gateway.
 */
@Module({
  imports: [GatewayModule, FailoverModule, ProvidersModule],
  controllers: [ShadowController],
  providers: [ShadowService, ShadowMetrics],
})
export class ShadowModule {}
