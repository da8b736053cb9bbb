import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/** cgroup v1 reports "no limit" as a page-rounded 2^63. */
const UNLIMITED = 2 ** 60;

function readLimit(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    const n = Number(text);
    return text !== 'max' && Number.isFinite(n) && n > 0 && n < UNLIMITED ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The memory this process may use, for the "memory > 90 % of the limit" alert: the configured value, else
 * the container's cgroup limit (v2, then v1), else the machine's RAM.
 */
export function memoryLimitBytes(configured: number | null): {
  bytes: number;
  source: 'config' | 'cgroup' | 'host';
} {
  if (configured) {
    return { bytes: configured, source: 'config' };
  }
  const cgroup =
    readLimit('/sys/fs/cgroup/memory.max') ?? readLimit('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  return cgroup ? { bytes: cgroup, source: 'cgroup' } : { bytes: totalmem(), source: 'host' };
}
