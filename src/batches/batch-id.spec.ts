import { BATCH_ID_PREFIX, BatchIdFactory, idFloor, isBatchId } from './batch-id';

describe('batch ids', () => {
  it('are msgbatch_ + 26 Crockford characters', () => {
    const id = new BatchIdFactory().next(Date.now());
    expect(id.startsWith(BATCH_ID_PREFIX)).toBe(true);
    expect(isBatchId(id)).toBe(true);
    expect(isBatchId('msgbatch_nope')).toBe(false);
    expect(isBatchId(`${id}x`)).toBe(false);
  });

  it('sort as strings in creation order, within one millisecond too', () => {
    const factory = new BatchIdFactory();
    const ids = [1000, 1000, 1000, 1001, 5000, 5000].map((t) => factory.next(t));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('never go back when the clock does', () => {
    const factory = new BatchIdFactory();
    const a = factory.next(2000);
    const b = factory.next(1000);
    expect(b > a).toBe(true);
  });

  it('idFloor(t) sorts after every id of an earlier millisecond and before any of t', () => {
    const factory = new BatchIdFactory();
    const before = factory.next(1_700_000_000_000);
    const at = new BatchIdFactory().next(1_700_000_000_001);
    const floor = idFloor(1_700_000_000_001);
    expect(before < floor).toBe(true);
    expect(floor < at).toBe(true);
  });
});
