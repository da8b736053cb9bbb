/**
 * PNG charts for the benchmark docs: Apache ECharts renders server-side to SVG (no DOM, no canvas), resvg
 * (Rust, prebuilt binary in its npm package) rasterises the SVG to PNG with the machine's fonts (DejaVu Sans on
 * Debian; any sans-serif elsewhere).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as echarts from 'echarts';
import type { Point } from './series';

export interface Line {
  name: string;
  /** A null y breaks the line (a gap between runs). */
  points: (Point | [number, null])[];
  /** 0: left axis (default), 1: right axis. */
  yAxis?: 0 | 1;
  dashed?: boolean;
  style?: 'solid' | 'dashed' | 'dotted';
  width?: number;
  opacity?: number;
  /** Draw the points only (sparse samples such as heap after GC). */
  scatter?: boolean;
  color?: string;
}

export interface LineChartSpec {
  title: string;
  yName: string;
  y2Name?: string;
  xName?: string;
  lines: Line[];
  /** Vertical markers at x (events: failure onset, Redis killed, spike start …). */
  marks?: { at: number; label: string }[];
  /** Horizontal reference lines on the left axis (targets). */
  refs?: { y: number; label: string }[];
  logY?: boolean;
}

export interface BarChartSpec {
  title: string;
  yName: string;
  categories: string[];
  bars: { name: string; values: number[]; color?: string }[];
  refs?: { y: number; label: string }[];
}

const WIDTH = 1000;
const HEIGHT = 420;
export const PALETTE = [
  '#2f6fdb',
  '#e8772e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#17becf',
  '#bcbd22',
];

const round = (v: number) => (Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 100) / 100);

/** Rows the legend wraps into (item ≈ symbol + gap + ~6.6 px per character at 11 px). */
function legendRows(names: string[]): number {
  let rows = 1;
  let x = 0;
  for (const n of names) {
    const w = 18 + 5 + n.length * 7.2 + 24;
    if (x + w > WIDTH - 30 && x > 0) {
      rows++;
      x = 0;
    }
    x += w;
  }
  return rows;
}

function base(title: string, names: string[], right = 70, bottom = 48): Record<string, unknown> {
  const top = 84 + (legendRows(names) - 1) * 20;
  return {
    animation: false,
    backgroundColor: '#ffffff',
    color: PALETTE,
    textStyle: { fontFamily: 'DejaVu Sans, sans-serif' },
    title: { text: title, left: 10, top: 6, textStyle: { fontSize: 15 } },
    legend: {
      top: 34,
      left: 10,
      right: 10,
      type: 'plain',
      itemWidth: 18,
      itemGap: 24,
      textStyle: { fontSize: 11 },
    },
    grid: { top, left: 70, right, bottom },
  };
}

function render(option: Record<string, unknown>, file: string): void {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height: HEIGHT });
  try {
    chart.setOption(option);
    const svg = chart.renderToSVGString();
    const png = new Resvg(svg, {
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
      fitTo: { mode: 'width', value: WIDTH },
      background: '#ffffff',
    })
      .render()
      .asPng();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, png);
  } finally {
    chart.dispose();
  }
}

export function lineChart(spec: LineChartSpec, file: string): void {
  const marks = spec.marks ?? [];
  const series = spec.lines.map((l, i) => ({
    name: l.name,
    type: l.scatter ? 'scatter' : 'line',
    yAxisIndex: l.yAxis ?? 0,
    showSymbol: l.scatter === true || l.points.length < 3,
    symbolSize: l.scatter ? 7 : 4,
    lineStyle: {
      width: l.width ?? 1.6,
      type: l.style ?? (l.dashed ? 'dashed' : 'solid'),
      opacity: l.opacity ?? 1,
    },
    color: l.color,
    connectNulls: false,
    data: l.points
      .filter((p) => p[1] === null || (Number.isFinite(p[1]) && (!spec.logY || p[1] > 0)))
      .map(([x, y]) => [round(x), y === null ? '-' : round(y)]),
    ...(i === 0 && (marks.length > 0 || (spec.refs ?? []).length > 0)
      ? {
          markLine: {
            symbol: 'none',
            silent: true,
            label: { fontSize: 10, formatter: '{b}' },
            data: [
              ...marks.map((m) => ({
                name: m.label,
                xAxis: round(m.at),
                lineStyle: { color: '#555', type: 'dashed' },
                label: { position: 'insideEndTop' },
              })),
              ...(spec.refs ?? []).map((r) => ({
                name: r.label,
                yAxis: r.y,
                lineStyle: { color: '#c00', type: 'dotted' },
                label: { position: 'insideEndTop' },
              })),
            ],
          },
        }
      : {}),
  }));
  const yAxis: Record<string, unknown>[] = [
    { type: spec.logY ? 'log' : 'value', name: spec.yName, nameTextStyle: { align: 'left' }, scale: false },
  ];
  if (spec.y2Name) {
    yAxis.push({
      type: 'value',
      name: spec.y2Name,
      splitLine: { show: false },
      nameTextStyle: { align: 'right' },
    });
  }
  render(
    {
      ...base(
        spec.title,
        spec.lines.map((l) => l.name),
      ),
      xAxis: {
        type: 'value',
        name: spec.xName ?? 'seconds',
        nameLocation: 'middle',
        nameGap: 28,
        min: (v: { min: number }) => Math.floor(v.min),
        max: (v: { max: number }) => Math.ceil(v.max),
      },
      yAxis,
      series,
    },
    file,
  );
}

export function barChart(spec: BarChartSpec, file: string): void {
  render(
    {
      ...base(
        spec.title,
        spec.bars.map((b) => b.name),
        30,
        70,
      ),
      xAxis: {
        type: 'category',
        data: spec.categories,
        axisLabel: { interval: 0, fontSize: 10, rotate: spec.categories.length > 8 ? 20 : 0 },
      },
      yAxis: { type: 'value', name: spec.yName },
      series: spec.bars.map((b, i) => ({
        name: b.name,
        type: 'bar',
        color: b.color,
        data: b.values.map((v) => (Number.isFinite(v) ? round(v) : null)),
        label: { show: spec.categories.length * spec.bars.length <= 24, position: 'top', fontSize: 9 },
        ...(i === 0 && spec.refs
          ? {
              markLine: {
                symbol: 'none',
                silent: true,
                label: { fontSize: 10, formatter: '{b}', position: 'insideEndTop' },
                data: spec.refs.map((r) => ({
                  name: r.label,
                  yAxis: r.y,
                  lineStyle: { color: '#c00', type: 'dotted' },
                })),
              },
            }
          : {}),
      })),
    },
    file,
  );
}
