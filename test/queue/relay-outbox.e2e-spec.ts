import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { RelayOutbox } from '../../src/queue/job-publisher';
import { JobRelay } from '../../src/queue/job-relay';
import {
  decodeNotice,
  encodeRecord,
  joinRecords,
  parseEntries,
  type JobEntry,
} from '../../src/queue/job-stream';
import type { StreamEvent } from '../../src/protocol/types';

/** The worker side of queued requests against the machine's Redis, each test under its own key prefix. */
describe('RelayOutbox (real Redis)', () => {
  let redis: Redis;
  let listener: Redis;
  let prefix: string;
  const delta = (text: string): StreamEvent => ({
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text },
  });

  beforeAll(async () => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    listener = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await Promise.all([redis.connect(), listener.connect()]);
  });

  beforeEach(() => {
    prefix = `switchyard-test:outbox:${randomUUID()}:`;
  });

  afterEach(async () => {
    await listener.unsubscribe();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) {
      await redis.del(...keys);
    }
  });

  afterAll(async () => {
    await Promise.all([redis.quit(), listener.quit()]);
  });

  const read = async (stream: string) => parseEntries(await redis.xread('STREAMS', stream, '0'));

  function hear(channel: string): Promise<string[]> {
    const heard: string[] = [];
    listener.on('message', (c: string, m: string) => {
      if (c === channel) {
        heard.push(m);
      }
    });
    return listener.subscribe(channel).then(() => heard);
  }

  it('sends what several jobs produced in one turn as one pipeline: one entry per job, one notice per channel', async () => {
    const channel = `${prefix}relay`;
    const heard = await hear(channel);
    const outbox = new RelayOutbox(() => redis);
    const pipelines = jest.spyOn(redis, 'pipeline');
    const jobs = ['a', 'b', 'c'].map((j) => outbox.publisher(`${prefix}${j}`, channel, j, 60_000));
    for (const p of jobs) {
      p.start({ worker: 'w1' });
      p.head({ target: 'fake/m', attempts: [] }, [delta('head')]);
      p.push(delta('one'));
      p.push(delta('two'));
    }
    await Promise.all(jobs.map((p) => p.end({ kind: 'done' })));
    expect(pipelines).toHaveBeenCalledTimes(1);
    pipelines.mockRestore();

    for (const j of ['a', 'b', 'c']) {
      const entries = await read(`${prefix}${j}`);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        id: '0-1',
        start: { worker: 'w1' },
        head: { target: 'fake/m' },
        end: { kind: 'done' },
      });
      expect(entries[0].events.map((e) => (e as { delta: { text: string } }).delta.text)).toEqual([
        'head',
        'one',
        'two',
      ]);
      expect(await redis.pttl(`${prefix}${j}`)).toBeGreaterThan(0);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(heard).toHaveLength(1);
    expect(decodeNotice(heard[0]).map((n) => [n.jobId, n.id])).toEqual([
      ['a', '0-1'],
      ['b', '0-1'],
      ['c', '0-1'],
    ]);
  });

  it('writes at once when idle and batches what arrives while a write is in flight, in order', async () => {
    const channel = `${prefix}relay`;
    const outbox = new RelayOutbox(() => redis);
    const p = outbox.publisher(`${prefix}job`, channel, 'job', 60_000);
    p.start({ worker: 'w1' });
    await new Promise((r) => setImmediate(r)); // the first write is on its way
    for (let i = 0; i < 50; i += 1) {
      p.push(delta(String(i)));
    }
    await p.end({ kind: 'done' });
    const entries = await read(`${prefix}job`);
    expect(entries.map((e) => e.id)).toEqual(['0-1', '0-2']);
    expect(entries[0].start).toEqual({ worker: 'w1' });
    expect(entries[1].events).toHaveLength(50);
    expect(entries[1].end).toEqual({ kind: 'done' });
    expect(p.error).toBeUndefined();
  });

  it("hands a process's own jobs to its relay in-process and PUBLISHes nothing for them", async () => {
    const own = `${prefix}own`;
    const other = `${prefix}other`;
    const heardOwn = await hear(own);
    const heardOther = await hear(other);
    const local: { jobId: string; entry: JobEntry }[][] = [];
    const outbox = new RelayOutbox(
      () => redis,
      (channel) => (channel === own ? (entries) => local.push(entries) : undefined),
    );
    const mine = outbox.publisher(`${prefix}mine`, own, 'mine', 60_000);
    const theirs = outbox.publisher(`${prefix}theirs`, other, 'theirs', 60_000);
    mine.push(delta('x'));
    theirs.push(delta('y'));
    await Promise.all([mine.end({ kind: 'done' }), theirs.end({ kind: 'done' })]);
    await new Promise((r) => setTimeout(r, 50));
    expect(local).toHaveLength(1);
    expect(local[0]).toEqual([
      { jobId: 'mine', entry: { id: '0-1', events: [delta('x')], end: { kind: 'done' } } },
    ]);
    expect(heardOwn).toHaveLength(0);
    expect(heardOther).toHaveLength(1);
    // Both are in their streams all the same (a slow reader fills gaps from there).
    expect(await read(`${prefix}mine`)).toHaveLength(1);
    expect(await read(`${prefix}theirs`)).toHaveLength(1);
  });

  it('takes an entry already on Redis (an earlier try whose reply was lost) as written', async () => {
    const stream = `${prefix}job`;
    await redis.xadd(stream, '0-1', 'e', '[]');
    const outbox = new RelayOutbox(() => redis);
    const p = outbox.publisher(stream, `${prefix}relay`, 'job', 60_000);
    p.push(delta('x'));
    await p.end({ kind: 'done' });
    expect(p.error).toBeUndefined();
    expect((await read(stream)).map((e) => e.id)).toEqual(['0-1']);
  });

  it('retries a write while Redis is away, then gives up with an error and resolves end', async () => {
    let available: Redis | undefined;
    const outbox = new RelayOutbox(() => available);
    const p = outbox.publisher(`${prefix}job`, `${prefix}relay`, 'job', 60_000);
    p.start({ worker: 'w1' });
    // Back within the retries: the entry goes out.
    setTimeout(() => (available = redis), 100);
    p.push(delta('x'));
    await p.end({ kind: 'done' });
    expect(p.error).toBeUndefined();
    expect(await read(`${prefix}job`)).toHaveLength(1);

    const gone = new RelayOutbox(() => undefined);
    const q = gone.publisher(`${prefix}lost`, `${prefix}relay`, 'lost', 60_000);
    q.push(delta('x'));
    await q.end({ kind: 'done' });
    expect(q.error?.message).toMatch(/Redis unavailable/);
    q.push(delta('ignored'));
    await expect(q.end({ kind: 'done' })).resolves.toBeUndefined();
  });

  it('a reader slower than its worker leaves entries on the stream and reads them on as it pulls: all, in order', async () => {
    const channel = `${prefix}relay`;
    const sub = new Redis({ host: '127.0.0.1', port: 6379 });
    const relay = new JobRelay(
      () => redis,
      sub,
      channel,
      {
        stream: (id) => `${prefix}${id}`,
        waiting: (id) => `${prefix}${id}:waiting`,
        worker: (id) => `${prefix}${id}:worker`,
      },
      { aliveMs: 30_000, workerLostMs: 30_000 },
    );
    try {
      await new Promise<void>((resolve) => sub.once('ready', () => setTimeout(resolve, 50)));
      const handle = relay.open('job');
      const outbox = new RelayOutbox(() => redis);
      const p = outbox.publisher(`${prefix}job`, channel, 'job', 60_000);
      p.head({ target: 'fake/m', attempts: [] }, []);
      const total = 2000;
      // Many small entries (one per turn) that nobody takes meanwhile: the handle stops at its high water.
      for (let i = 0; i < total; i += 1) {
        p.push(delta(String(i)));
        if (i % 100 === 99) {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      await p.end({ kind: 'done' });
      await new Promise((r) => setTimeout(r, 100));
      expect(handle.buffered).toBeLessThan(total);
      expect((await handle.head()).target).toBe('fake/m');
      const texts: string[] = [];
      for await (const e of handle.stream()) {
        texts.push((e as { delta: { text: string } }).delta.text);
      }
      expect(texts).toEqual(Array.from({ length: total }, (_, i) => String(i)));
    } finally {
      relay.stop();
      sub.disconnect();
    }
  });

  it('reads notices of the earlier one-record JSON form as well', () => {
    const fields = ['e', JSON.stringify([delta('a\nb')])];
    const old = `job1\n0-3\n${JSON.stringify(fields)}`;
    expect(decodeNotice(old)).toEqual([{ jobId: 'job1', id: '0-3', fields }]);
    const now = joinRecords([encodeRecord('job1', '0-3', fields), encodeRecord('job2', '0-1', fields)]);
    expect(decodeNotice(now)).toEqual([
      { jobId: 'job1', id: '0-3', fields },
      { jobId: 'job2', id: '0-1', fields },
    ]);
    expect(decodeNotice('job1')).toEqual([{ jobId: 'job1' }]);
  });
});
