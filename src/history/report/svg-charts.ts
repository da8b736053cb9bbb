/**
 * Inline SVG charts for the HTML report: generated strings, no library and nothing fetched, so the page
 * opens offline. Every mark carries a <title> (the exact value as a tooltip).
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ENTITIES[c]);

export interface Series {
  name: string;
  color: string;
  values: (number | null)[];
}

export interface ChartOptions {
  /** Element id of the <figure> (tests and anchors find charts by it). */
  id: string;
  title: string;
  format: (n: number) => string;
}

const WIDTH = 760;
const LABEL_W = 210;
const VALUE_W = 90;
const FONT = 'font-family="system-ui, sans-serif" font-size="12"';

const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

/** A round axis maximum ≥ max (1, 2, 2.5, 5 × 10^k). */
export function niceMax(max: number): number {
  if (!(max > 0)) {
    return 1;
  }
  const pow = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * pow >= max) {
      return step * pow;
    }
  }
  return 10 * pow;
}

function figure(opts: ChartOptions, height: number, body: string, legend: Series[] = []): string {
  const keys = legend
    .map(
      (s) =>
        `<span class="key"><span class="swatch" style="background:${esc(s.color)}"></span>${esc(s.name)}</span>`,
    )
    .join('');
  return (
    `<figure class="chart" id="${esc(opts.id)}"><figcaption>${esc(opts.title)}${keys ? `<span class="legend">${keys}</span>` : ''}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${esc(opts.title)}" ${FONT}>` +
    `${body}</svg></figure>`
  );
}

function empty(opts: ChartOptions): string {
  return figure(opts, 40, `<text x="${WIDTH / 2}" y="24" text-anchor="middle" fill="#888">no data</text>`);
}

/**
 * Horizontal bars, one row per category and one bar per series inside it (grouped), or the series
 * stacked end to end (`stacked`: parts of one total, e.g. token types).
 */
export function horizontalBars(
  opts: ChartOptions,
  categories: string[],
  series: Series[],
  stacked = false,
): string {
  if (categories.length === 0) {
    return empty(opts);
  }
  const barH = stacked ? 16 : series.length > 1 ? 12 : 16;
  const rowH = stacked || series.length === 1 ? 24 : barH * series.length + 10;
  const top = 8;
  const height = top + rowH * categories.length + 8;
  const plotW = WIDTH - LABEL_W - VALUE_W;
  const totals = categories.map((_, i) =>
    stacked
      ? series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0)
      : Math.max(0, ...series.map((s) => s.values[i] ?? 0)),
  );
  const max = niceMax(Math.max(0, ...totals));
  const scale = (v: number): number => (v / max) * plotW;
  let body = '';
  categories.forEach((cat, i) => {
    const y0 = top + i * rowH;
    const label = cat.length > 28 ? `${cat.slice(0, 27)}…` : cat;
    body += `<text x="${LABEL_W - 8}" y="${r1(y0 + rowH / 2 + 4)}" text-anchor="end"><title>${esc(cat)}</title>${esc(label)}</text>`;
    let x = LABEL_W;
    series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null || v === undefined) {
        return;
      }
      const w = Math.max(v > 0 ? 1 : 0, scale(v));
      const y = stacked || series.length === 1 ? y0 + (rowH - barH) / 2 : y0 + 5 + j * barH;
      body += `<rect class="bar" x="${r1(x)}" y="${r1(y)}" width="${r1(w)}" height="${barH - 1}" fill="${esc(s.color)}"><title>${esc(`${cat} · ${s.name}: ${opts.format(v)}`)}</title></rect>`;
      if (stacked) {
        x += w;
      } else {
        body += `<text x="${r1(LABEL_W + w + 4)}" y="${r1(y + barH - 2)}" font-size="11" fill="#444">${esc(opts.format(v))}</text>`;
      }
    });
    if (stacked) {
      body += `<text x="${r1(x + 4)}" y="${r1(y0 + rowH / 2 + 4)}" fill="#444">${esc(opts.format(totals[i]))}</text>`;
    }
  });
  return figure(opts, height, body, series.length > 1 ? series : []);
}

/** Time buckets as columns (series stacked) with a value axis. */
export function columns(opts: ChartOptions, labels: string[], series: Series[]): string {
  if (labels.length === 0) {
    return empty(opts);
  }
  const left = 56;
  const right = 12;
  const top = 10;
  const plotH = 180;
  const height = top + plotH + 34;
  const plotW = WIDTH - left - right;
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const step = plotW / labels.length;
  const barW = Math.max(1, step * 0.8);
  let body = axis(left, top, plotW, plotH, max, opts.format);
  labels.forEach((label, i) => {
    let y = top + plotH;
    const x = left + i * step + (step - barW) / 2;
    for (const s of series) {
      const v = s.values[i] ?? 0;
      if (v <= 0) {
        continue;
      }
      const h = (v / max) * plotH;
      y -= h;
      body += `<rect class="bar" x="${r1(x)}" y="${r1(y)}" width="${r1(barW)}" height="${r1(h)}" fill="${esc(s.color)}"><title>${esc(`${label} · ${s.name}: ${opts.format(v)}`)}</title></rect>`;
    }
  });
  body += xLabels(labels, left, step, top + plotH);
  return figure(opts, height, body, series);
}

/** Time buckets as a line per series (gaps where a bucket has no value). */
export function lines(opts: ChartOptions, labels: string[], series: Series[]): string {
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  if (labels.length === 0 || values.length === 0) {
    return empty(opts);
  }
  const left = 56;
  const right = 12;
  const top = 10;
  const plotH = 160;
  const height = top + plotH + 34;
  const plotW = WIDTH - left - right;
  const max = niceMax(Math.max(...values));
  const step = plotW / labels.length;
  let body = axis(left, top, plotW, plotH, max, opts.format);
  for (const s of series) {
    let path = '';
    s.values.forEach((v, i) => {
      if (v === null) {
        return;
      }
      const x = left + i * step + step / 2;
      const y = top + plotH - (v / max) * plotH;
      const joined = i > 0 && s.values[i - 1] !== null;
      path += `${joined ? 'L' : 'M'}${r1(x)} ${r1(y)} `;
      body += `<circle class="point" cx="${r1(x)}" cy="${r1(y)}" r="2.5" fill="${esc(s.color)}"><title>${esc(`${labels[i]} · ${s.name}: ${opts.format(v)}`)}</title></circle>`;
    });
    body = `<path class="line" d="${path.trim()}" fill="none" stroke="${esc(s.color)}" stroke-width="2"/>${body}`;
  }
  body += xLabels(labels, left, step, top + plotH);
  return figure(opts, height, body, series);
}

/** Gridlines at round values: a maximum of 2.5 or 5 (× 10^k) splits in five, 1 or 2 in four. */
export function tickCount(max: number): number {
  const mantissa = Math.round((max / 10 ** Math.floor(Math.log10(max))) * 10) / 10;
  return mantissa === 2.5 || mantissa === 5 ? 5 : 4;
}

function axis(
  left: number,
  top: number,
  plotW: number,
  plotH: number,
  max: number,
  format: (n: number) => string,
): string {
  let out = '';
  const n = tickCount(max);
  for (let k = 0; k <= n; k++) {
    const v = (max * k) / n;
    const y = top + plotH - (plotH * k) / n;
    out += `<line x1="${left}" x2="${left + plotW}" y1="${r1(y)}" y2="${r1(y)}" stroke="#e3e3e3"/>`;
    out += `<text x="${left - 6}" y="${r1(y + 4)}" text-anchor="end" fill="#666" font-size="10">${esc(format(v))}</text>`;
  }
  return out;
}

function xLabels(labels: string[], left: number, step: number, baseline: number): string {
  const every = Math.max(1, Math.ceil(labels.length / 8));
  let out = '';
  labels.forEach((label, i) => {
    if (i % every === 0) {
      const x = left + i * step + step / 2;
      const anchor = x + 36 > WIDTH ? 'end' : 'middle'; // the last label stays inside the picture
      out += `<text x="${r1(x)}" y="${baseline + 16}" text-anchor="${anchor}" fill="#666" font-size="10">${esc(label)}</text>`;
    }
  });
  return out;
}
