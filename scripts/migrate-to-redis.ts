/**
 * `npm run migrate:redis -- --snapshot <file> [--redis-url redis://…] [--dry-run]`
 *
 * The same as `switchyard migrate-to-redis` (src/cli/migrate-redis-command.ts): copies a memory-tier cache
 * snapshot (written on shutdown when `Cache.snapshotPath` is set) into Redis, each entry with its remaining
 * lifetime; idempotent.
 */
import { exitAfterFlush, processContext, runCli } from '../src/cli/cli-main';

runCli(['migrate-to-redis', ...process.argv.slice(2)], processContext()).then(
  (code) => exitAfterFlush(code === 'running' ? 0 : code),
  (err: Error) => {
    console.error(`migrate:redis failed: ${err.message}`);
    exitAfterFlush(1);
  },
);
