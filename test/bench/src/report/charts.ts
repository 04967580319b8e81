import { cdfPoints, countsPerBucket, histogram } from '../histogram.js';
import { percentile, sortedCopy } from '../stats.js';
import { type Plot } from './model.js';
import { histogramChart, lineChart } from './svg-plot.js';

type WritePlot = (file: string, title: string, svg: string) => Promise<Plot>;

/** A latency histogram (clipped at p99.5, the clipped count in the title) and its CDF. */
export async function latencyPlots(write: WritePlot, prefix: string, title: string, latenciesMs: readonly number[]): Promise<Plot[]> {
  const sorted = sortedCopy(latenciesMs);
  const top = percentile(sorted, 99.5) ?? 1;
  const low = Math.min(0, sorted[0] ?? 0);
  const hist = histogram(sorted, 50, { min: low, max: Math.max(top, low + 1) });
  const clipped = hist.outside > 0 ? ` (${hist.outside} above ${top.toFixed(1)} ms not shown)` : '';
  return [
    await write(
      `${prefix}-latency-histogram.svg`,
      `${title}: latency histogram`,
      histogramChart({ title: `${title}: latency${clipped}`, xLabel: 'latency (ms)', yLabel: 'count', histogram: hist }),
    ),
    await write(
      `${prefix}-latency-cdf.svg`,
      `${title}: latency CDF`,
      lineChart({
        title: `${title}: latency CDF (n = ${sorted.length})`,
        xLabel: 'latency (ms)',
        yLabel: 'fraction ≤ x',
        series: [{ name: 'CDF', points: cdfPoints(sorted, 300) }],
        yMin: 0,
        yMax: 1,
      }),
    ),
  ];
}

/** Events per second over a run, one line per named series of event times (monotonic ms). */
export async function throughputPlot(
  write: WritePlot,
  file: string,
  title: string,
  start: number,
  durationMs: number,
  series: Record<string, readonly number[]>,
): Promise<Plot> {
  const lines = Object.entries(series).map(([name, times]) => ({
    name,
    points: countsPerBucket(times, start, durationMs, 1000).map((count, i) => ({ x: i + 1, y: count })),
  }));
  return write(file, title, lineChart({ title, xLabel: 'time (s)', yLabel: 'per second', series: lines, yMin: 0 }));
}
