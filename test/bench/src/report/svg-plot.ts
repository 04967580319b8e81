import { type Histogram } from '../histogram.js';

/** Hand-written SVG charts (line, bar, histogram): no plotting dependency, readable in any browser or on GitHub. */
export interface Series {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

const WIDTH = 720;
const HEIGHT = 400;
const MARGIN = { top: 56, right: 20, bottom: 56, left: 72 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** About `count` round tick values (1, 2, 2.5, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max < min) [min, max] = [max, min];
  if (max === min) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const first = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let value = first; value <= max + step * 1e-9; value += step) ticks.push(Number(value.toPrecision(12)));
  if (ticks.at(-1)! < max) ticks.push(Number((ticks.at(-1)! + step).toPrecision(12)));
  return ticks;
}

export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(4)));
}

interface Frame {
  readonly x: (value: number) => number;
  readonly y: (value: number) => number;
  readonly parts: string[];
}

function frame(title: string, xLabel: string, yLabel: string, xTicks: number[], yTicks: number[], xTickLabels?: string[]): Frame {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const [x0, x1] = [xTicks[0]!, xTicks.at(-1)!];
  const [y0, y1] = [yTicks[0]!, yTicks.at(-1)!];
  const x = (value: number) => MARGIN.left + ((value - x0) / (x1 - x0 || 1)) * plotW;
  const y = (value: number) => MARGIN.top + plotH - ((value - y0) / (y1 - y0 || 1)) * plotH;
  const parts = [
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="${Math.min(15, Math.floor(1250 / Math.max(1, title.length)))}" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle" font-size="12">${escapeXml(xLabel)}</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(yLabel)}</text>`,
  ];
  for (const tick of yTicks) {
    const py = y(tick).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py}" y2="${py}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${py}" dy="4" text-anchor="end" font-size="11">${formatTick(tick)}</text>`);
  }
  xTicks.forEach((tick, i) => {
    const px = x(tick).toFixed(1);
    const label = xTickLabels?.[i] ?? formatTick(tick);
    parts.push(`<line x1="${px}" x2="${px}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#333"/>`);
    parts.push(`<text x="${px}" y="${MARGIN.top + plotH + 17}" text-anchor="middle" font-size="11">${escapeXml(label)}</text>`);
  });
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  return { x, y, parts };
}

/** One row of legend entries between the title and the plot. */
function legend(names: readonly string[]): string[] {
  if (names.length < 2) return [];
  let lx = MARGIN.left;
  const ly = 34;
  return names.map((name, i) => {
    const entry = `<rect x="${lx}" y="${ly}" width="12" height="10" fill="${COLORS[i % COLORS.length]!}"/><text x="${lx + 16}" y="${ly + 9}" font-size="11">${escapeXml(name)}</text>`;
    lx += 16 + name.length * 6.5 + 18;
    return entry;
  });
}

function svg(parts: readonly string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
}

export function lineChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  yMin?: number;
  yMax?: number;
}): string {
  const all = options.series.flatMap((series) => series.points);
  if (all.length === 0) return emptyChart(options.title);
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const xTicks = niceTicks(Math.min(...xs), Math.max(...xs), 8);
  const yTicks = niceTicks(options.yMin ?? Math.min(0, ...ys), options.yMax ?? Math.max(...ys));
  const f = frame(options.title, options.xLabel, options.yLabel, xTicks, yTicks);
  options.series.forEach((series, i) => {
    if (series.points.length === 0) return;
    const d = series.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${f.x(p.x).toFixed(1)},${f.y(p.y).toFixed(1)}`).join(' ');
    f.parts.push(`<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]!}" stroke-width="1.6"/>`);
  });
  return svg([...f.parts, ...legend(options.series.map((s) => s.name))]);
}

export function histogramChart(options: { title: string; xLabel: string; yLabel: string; histogram: Histogram }): string {
  const { edges, counts } = options.histogram;
  if (counts.length === 0) return emptyChart(options.title);
  const xTicks = niceTicks(edges[0]!, edges.at(-1)!, 10);
  const yTicks = niceTicks(0, Math.max(1, ...counts));
  const f = frame(options.title, options.xLabel, options.yLabel, xTicks, yTicks);
  counts.forEach((count, i) => {
    const left = f.x(edges[i]!);
    const right = f.x(edges[i + 1]!);
    const top = f.y(count);
    f.parts.push(
      `<rect x="${left.toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(0.5, right - left - 0.5).toFixed(1)}" height="${(f.y(0) - top).toFixed(1)}" fill="${COLORS[0]!}"/>`,
    );
  });
  return svg(f.parts);
}

export function barChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  categories: readonly string[];
  series: readonly { name: string; values: readonly (number | null)[] }[];
}): string {
  const values = options.series.flatMap((series) => series.values.filter((v): v is number => v !== null));
  if (options.categories.length === 0 || values.length === 0) return emptyChart(options.title);
  const n = options.categories.length;
  const yTicks = niceTicks(0, Math.max(...values));
  const xTicks = Array.from({ length: n }, (_, i) => i + 0.5);
  const f = frame(options.title, options.xLabel, options.yLabel, [0, ...xTicks, n], yTicks, ['', ...options.categories, '']);
  const groupW = f.x(1) - f.x(0);
  const barW = (groupW * 0.8) / options.series.length;
  options.series.forEach((series, s) => {
    series.values.forEach((value, i) => {
      if (value === null) return;
      const left = f.x(i) + groupW * 0.1 + s * barW;
      const top = f.y(value);
      f.parts.push(
        `<rect x="${left.toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(f.y(0) - top).toFixed(1)}" fill="${COLORS[s % COLORS.length]!}"/>`,
        `<text x="${(left + barW / 2).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle" font-size="10">${formatTick(value)}</text>`,
      );
    });
  });
  return svg([...f.parts, ...legend(options.series.map((s) => s.name))]);
}

function emptyChart(title: string): string {
  return svg([
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" font-size="14">${escapeXml(title)}: no data</text>`,
  ]);
}
