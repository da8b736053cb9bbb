/**
 * Cheap checks of the suite's own machinery (no gateway, no timing): `npm run bench:selftest`.
 * Series maths, heap-snapshot parsing on a real snapshot of this process, PNG rendering, and the README written
 * for a results dir where nothing has run yet.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import v8 from 'node:v8';
import type { Sample } from '../lib/open-loop';
import { lineChart } from './charts';
import { writeReadme } from './docs';
import { heapGrowth, summarizeHeapSnapshot } from './heap';
import { ALL_SCENARIOS } from './scenarios';
import { latencyOverTime, linearFit, outcomes, throughputOverTime } from './series';

const sample = (atMs: number, totalMs: number, status = 200, extra: Partial<Sample> = {}): Sample => ({
  tag: 't',
  id: String(atMs),
  stream: false,
  atMs,
  lateMs: 0,
  status,
  headersMs: totalMs,
  ttfbMs: totalMs,
  totalMs,
  ok: status === 200,
  ...extra,
});

void test('linearFit recovers a slope and reports no trend on a flat line', () => {
  const f = linearFit([0, 1, 2, 3, 4].map((x) => [x, 10 + 2 * x]));
  assert.equal(f.slope, 2);
  assert.equal(f.intercept, 10);
  assert.equal(f.r2, 1);
  assert.equal(linearFit([0, 1, 2].map((x) => [x, 5])).slope, 0);
  assert.ok(Number.isNaN(linearFit([[0, 1]]).slope));
});

void test('latency and throughput series bucket by scheduled time and by completion time', () => {
  const s = [
    sample(100, 10),
    sample(200, 30),
    sample(1100, 50),
    sample(1200, 2000, 503, { retryAfter: '1' }),
  ];
  const lat = latencyOverTime(s, 10);
  assert.deepEqual(lat.p99, [
    [10.5, 30],
    [11.5, 50],
  ]);
  const tp = throughputOverTime(s, 0);
  assert.deepEqual(
    tp.ok.map((p) => p[1]),
    [2, 1, 0, 0],
  );
  assert.deepEqual(
    tp.shed.map((p) => p[1]),
    [0, 0, 0, 1],
  );
});

void test('outcomes separate shed answers (429/503) from errors', () => {
  const o = outcomes([
    sample(0, 1),
    sample(1, 1, 429, { retryAfter: '3' }),
    sample(2, 1, 503),
    sample(3, 1, 500, { error: 'HTTP 500' }),
    sample(4, 1, 0, { error: 'TimeoutError: x' }),
  ]);
  assert.equal(o.ok, 1);
  assert.equal(o.shed, 2);
  assert.equal(o.shedWithRetryAfter, 1);
  assert.equal(o.errors, 2);
  assert.equal(o.timeouts, 1);
});

void test('heap snapshots are grouped by constructor and diffed', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'suite-selftest-'));
  try {
    class SelftestLeak {
      constructor(readonly n: number) {}
    }
    const a = v8.writeHeapSnapshot(join(dir, 'a.heapsnapshot'));
    const keep = Array.from({ length: 5000 }, (_, i) => new SelftestLeak(i));
    const b = v8.writeHeapSnapshot(join(dir, 'b.heapsnapshot'));
    const before = summarizeHeapSnapshot(a);
    const after = summarizeHeapSnapshot(b);
    assert.ok(after.nodes > 1000);
    const g = heapGrowth(before, after, 1000).find((x) => x.group === 'SelftestLeak');
    assert.ok(g, 'the class created between the snapshots is listed');
    assert.equal(g.countDelta, keep.length);
    assert.ok(g.sizeDelta > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a chart renders to a PNG file', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'suite-selftest-'));
  try {
    const file = join(dir, 'c.png');
    lineChart(
      {
        title: 't',
        yName: 'ms',
        lines: [
          {
            name: 'a',
            points: [
              [0, 1],
              [1, 2],
              [2, null],
              [3, 4],
            ],
          },
        ],
        marks: [{ at: 1, label: 'x' }],
      },
      file,
    );
    assert.deepEqual([...readFileSync(file).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('the README lists every scenario as "not run yet" when there are no results', () => {
  const root = mkdtempSync(join(os.tmpdir(), 'suite-selftest-'));
  try {
    const path = writeReadme(root, ALL_SCENARIOS);
    assert.ok(existsSync(path));
    const text = readFileSync(path, 'utf8');
    for (const d of ALL_SCENARIOS) {
      assert.ok(text.includes(`\`${d.name}\``), d.name);
    }
    assert.equal(text.match(/\*\*Not run yet\.\*\*/g)?.length, ALL_SCENARIOS.length);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
