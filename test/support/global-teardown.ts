export default async function globalTeardown(): Promise<void> {
  const redis = (globalThis as { __switchyardRedis?: { stop(): Promise<void> } }).__switchyardRedis;
  await redis?.stop();
}
