import { Module } from '@nestjs/common';
import { ConfigReloadService } from './config-reload.service';
import { ConfigController } from './config.controller';

/** Hot reload of the configuration: the file watcher, `POST /api/config/reload` and `GET /api/config`. */
@Module({ controllers: [ConfigController], providers: [ConfigReloadService], exports: [ConfigReloadService] })
export class ConfigReloadModule {}
