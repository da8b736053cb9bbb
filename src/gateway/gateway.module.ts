import { Module } from '@nestjs/common';
import { ProvidersModule } from '../providers/providers.module';
import { RoutingModule } from '../routing/routing.module';
import { ChatCompletionsController } from './chat-completions.controller';
import { GatewayService } from './gateway.service';
import { MessagesController } from './messages.controller';
import { ModelsController } from './models.controller';

@Module({
  imports: [RoutingModule, ProvidersModule],
  controllers: [MessagesController, ChatCompletionsController, ModelsController],
  providers: [GatewayService],
})
export class GatewayModule {}
