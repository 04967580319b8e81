import { type Metric, type Report } from './report/model.js';
import { TARGETS } from './targets.js';

export interface CompareRow {
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly better: 'lower' | 'higher';
  readonly a: number | null;
  readonly b: number | null;
  /** b / a. */
  readonly ratio: number | null;
  /** How many times better A is than B in the metric's direction (> 1: A is better); null when undefined (a zero or a missing value). */
  readonly advantage: number | null;
}

export function metricsOf(report: Pick<Report, 'scenarios'>): Metric[] {
  return report.scenarios.flatMap((scenario) => scenario.metrics);
}

export function advantage(a: number | null, b: number | null, better: 'lower' | 'higher'): number | null {
  if (a === null || b === null || a <= 0 || b <= 0) return null;
  return better === 'lower' ? b / a : a / b;
}

/** Pairs the metrics of two runs by id (in A's order, then B-only ones). */
export function compareMetrics(a: readonly Metric[], b: readonly Metric[]): CompareRow[] {
  const ids = [...new Set([...a.map((m) => m.id), ...b.map((m) => m.id)])];
  return ids.map((id) => {
    const ma = a.find((m) => m.id === id);
    const mb = b.find((m) => m.id === id);
    const meta = (ma ?? mb)!;
    const va = ma?.value ?? null;
    const vb = mb?.value ?? null;
    return {
      id,
      label: meta.label,
      unit: meta.unit,
      better: meta.better,
      a: va,
      b: vb,
      ratio: va !== null && vb !== null && va !== 0 ? vb / va : null,
      advantage: advantage(va, vb, meta.better),
    };
  });
}

const num = (value: number | null) =>
  value === null ? '—' : Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : String(Number(value.toPrecision(4)));
const times = (value: number | null) => (value === null ? '—' : `${value >= 100 ? value.toFixed(0) : value.toPrecision(3)}×`);

export function compareMarkdown(a: Report, b: Report, nameA: string, nameB: string): string {
  const rows = compareMetrics(metricsOf(a), metricsOf(b));
  const targetIds = new Set(TARGETS.map((target) => target.metric));
  const lines = [
    `# Benchmark comparison: ${a.target} vs ${b.target}`,
    '',
    `- A: \`${nameA}\` — ${a.target} at ${a.baseUrl}, ${a.startedAt}${a.quick ? ' (quick)' : ''}`,
    `- B: \`${nameB}\` — ${b.target} at ${b.baseUrl}, ${b.startedAt}${b.quick ? ' (quick)' : ''}`,
    `- Machine A: ${a.machine.cpuModel}, ${a.machine.cores} cores, Node ${a.machine.node}; machine B: ${b.machine.cpuModel}, ${b.machine.cores} cores`,
    '',
    '"A better by" is how many times better A is in the metric\'s direction (B/A for lower-is-better, A/B for higher-is-better); ★ marks target metrics where A is at least 10× better.',
    '',
    `| metric | unit | A (${a.target}) | B (${b.target}) | B / A | A better by |`,
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...rows.map((row) => {
      const star = targetIds.has(row.id) && row.advantage !== null && row.advantage >= 10 ? ' ★' : '';
      return `| ${row.label} | ${row.unit} | ${num(row.a)} | ${num(row.b)} | ${row.ratio === null ? '—' : times(row.ratio)} | ${times(row.advantage)}${star} |`;
    }),
  ];
  const differing = Object.keys({ ...a.parameters, ...b.parameters }).filter(
    (key) =>
      JSON.stringify(a.parameters[key]) !== JSON.stringify(b.parameters[key]) &&
      !['baseUrl', 'syncBaseUrl', 'target', 'pids'].includes(key),
  );
  if (differing.length)
    lines.push(
      '',
      `Parameters that differ: ${differing.map((key) => `\`${key}\` (${JSON.stringify(a.parameters[key])} vs ${JSON.stringify(b.parameters[key])})`).join(', ')}.`,
    );
  const skipped = (report: Report) => report.scenarios.filter((s) => s.status !== 'ok').map((s) => `${s.name} (${s.status})`);
  if (skipped(a).length || skipped(b).length)
    lines.push('', `Scenarios not measured: A ${skipped(a).join(', ') || 'none'}; B ${skipped(b).join(', ') || 'none'}.`);
  return `${lines.join('\n')}\n`;
}
