/**
 * Heap snapshots (.heapsnapshot, V8's JSON format) summarised by constructor name, and the difference of two: the
 * object types that grew between the start and the end of a long run.
 *
 * The file holds `snapshot.meta.node_fields` (e.g. type, name, id, self_size, edge_count, …), a flat `nodes` array
 * with that many numbers per node, and `strings`. A node's group is its constructor name for JS objects and native
 * objects (`Object`, `Map`, `Socket`, …) and its V8 type otherwise: `(string)`, `(closure)`, `(array)`,
 * `(compiled code)` … — the grouping of DevTools' "Constructor" view.
 */
import { readFileSync } from 'node:fs';

export interface HeapGroup {
  count: number;
  selfSize: number;
}

export interface HeapSummary {
  nodes: number;
  selfSize: number;
  groups: Record<string, HeapGroup>;
}

interface SnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

export function summarizeHeapSnapshot(file: string): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as SnapshotJson;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const n = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const groups: Record<string, HeapGroup> = {};
  let selfSize = 0;
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += n) {
    const type = types[nodes[i + iType]];
    const size = nodes[i + iSize];
    const key =
      type === 'object' || type === 'native'
        ? strings[nodes[i + iName]] || `(${type})`
        : STRING_TYPES.has(type)
          ? '(string)'
          : `(${type})`;
    const g = (groups[key] ??= { count: 0, selfSize: 0 });
    g.count++;
    g.selfSize += size;
    selfSize += size;
  }
  return { nodes: nodes.length / n, selfSize, groups };
}

export interface HeapGrowth {
  group: string;
  countBefore: number;
  countAfter: number;
  countDelta: number;
  sizeBefore: number;
  sizeAfter: number;
  sizeDelta: number;
}

/** Groups ordered by self-size growth (then count growth); the `top` first. */
export function heapGrowth(before: HeapSummary, after: HeapSummary, top = 15): HeapGrowth[] {
  const keys = new Set([...Object.keys(before.groups), ...Object.keys(after.groups)]);
  const rows: HeapGrowth[] = [];
  for (const k of keys) {
    const a = before.groups[k] ?? { count: 0, selfSize: 0 };
    const b = after.groups[k] ?? { count: 0, selfSize: 0 };
    rows.push({
      group: k,
      countBefore: a.count,
      countAfter: b.count,
      countDelta: b.count - a.count,
      sizeBefore: a.selfSize,
      sizeAfter: b.selfSize,
      sizeDelta: b.selfSize - a.selfSize,
    });
  }
  return rows.sort((x, y) => y.sizeDelta - x.sizeDelta || y.countDelta - x.countDelta).slice(0, top);
}
