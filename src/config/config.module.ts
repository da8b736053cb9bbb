import { Global, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { CONFIG_NAMESPACE } from './config.constants';
import { AppConfigService } from './config.service';
import type { LoadedConfig } from './load-config';

/**
 * Registers the already-loaded configuration (loaded and validated once in bootstrap, environment variables
 * included, so a bad file or variable exits before Nest starts) with @nestjs/config and exposes it typed
 * through AppConfigService.
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(loaded: LoadedConfig): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: true,
          cache: true,
          load: [() => ({ [CONFIG_NAMESPACE]: loaded })],
        }),
      ],
      providers: [AppConfigService],
      exports: [AppConfigService],
    };
  }
}
