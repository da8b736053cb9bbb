import type { BatchRecord, ProcessingStatus } from './batch.types';

/**
 * KEYS: meta, req, res, ids. ARGV: now, retainMs, then (index, outcome, result JSON) triples. A request
 * gets a result only if it has none (HSETNX), its params go, its count moves — all in one step; the
 * results hash lives as long as the meta hash; the last result ends the batch and shortens every key's
 * life to the retention.
 */
export const SETTLE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local settled = 0
for i = 3, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[3], ARGV[i], ARGV[i + 2]) == 1 then
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('HINCRBY', KEYS[1], ARGV[i + 1], 1)
    settled = settled + 1
  end
end
local life = redis.call('PTTL', KEYS[1])
if settled > 0 and life > 0 and redis.call('PTTL', KEYS[3]) < 0 then
  redis.call('PEXPIRE', KEYS[3], life)
end
local ended = 0
if settled > 0 then
  local left = redis.call('HINCRBY', KEYS[1], 'processing', -settled)
  if left <= 0 and redis.call('HGET', KEYS[1], 'status') ~= 'ended' then
    redis.call('HSET', KEYS[1], 'status', 'ended', 'ended_at', ARGV[1])
    for k = 1, #KEYS do redis.call('PEXPIRE', KEYS[k], ARGV[2]) end
    ended = 1
  end
end
return {settled, ended}
`;

/** KEYS: meta. ARGV: now. in_progress → canceling; answers the batch's fields (empty when unknown). */
export const CANCEL = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {} end
if status == 'in_progress' then
  redis.call('HSET', KEYS[1], 'status', 'canceling', 'cancel_initiated_at', ARGV[1])
end
return redis.call('HGETALL', KEYS[1])
`;

const num = (v: string | undefined): number => (v === undefined || v === '' ? 0 : Number(v));
const optionalTime = (v: string | undefined): number | null =>
  v === undefined || v === '' ? null : Number(v);

export function toRecord(id: string, h: Record<string, string>): BatchRecord | undefined {
  if (!h.status) {
    return undefined;
  }
  return {
    id,
    status: h.status as ProcessingStatus,
    total: num(h.total),
    counts: {
      processing: Math.max(0, num(h.processing)),
      succeeded: num(h.succeeded),
      errored: num(h.errored),
      canceled: num(h.canceled),
      expired: num(h.expired),
    },
    createdAt: num(h.created_at),
    expiresAt: num(h.expires_at),
    endedAt: optionalTime(h.ended_at),
    cancelInitiatedAt: optionalTime(h.cancel_initiated_at),
  };
}

export function pairsToObject(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    out[flat[i]] = flat[i + 1];
  }
  return out;
}
