import { buildGatewayForE2e, E2E_BUILD_DIR } from './gateway-build';
import { startRedisServer } from './redis-server';

/**
 * e2e tests get a private redis-server for the run (never a developer's real data) unless REDIS_URL is
 * set. Workers read TEST_REDIS_URL.
 */
export default async function globalSetup(): Promise<void> {
  buildGatewayForE2e();
  process.env.SWITCHYARD_E2E_BUILD = E2E_BUILD_DIR;
  if (process.env.REDIS_URL) {
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  const redis = await startRedisServer();
  process.env.TEST_REDIS_URL = redis.url;
  (globalThis as { __switchyardRedis?: { stop(): Promise<void> } }).__switchyardRedis = redis;
}
