import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module';
import { DedupModule } from '../dedup/dedup.module';
import { FailoverModule } from '../failover/failover.module';
import { ProvidersModule } from '../providers/providers.module';
import { RoutingModule } from '../routing/routing.module';
import { ChatCompletionsController } from './chat-completions.controller';
import { GatewayService } from './gateway.service';
import { MessagesController } from './messages.controller';
import { ModelsController } from './models.controller';
import { RequestMirror } from './request-mirror';
import { ResponderService } from './responder.service';

@Module({
  imports: [RoutingModule, ProvidersModule, CacheModule, DedupModule, FailoverModule],
  controllers: [MessagesController, ChatCompletionsController, ModelsController],
  providers: [GatewayService, ResponderService, RequestMirror],
  exports: [GatewayService, RequestMirror],
})
export class GatewayModule {}
