import { type Report, type TargetEvaluation } from './model.js';

const num = (value: unknown): string => {
  if (typeof value !== 'number')
    return value === null || value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value);
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : String(Number(value.toPrecision(4)));
};

const op = (target: TargetEvaluation) => ({ '<=': '≤', '>=': '≥', '==': '=' })[target.op];

function targetRows(report: Report): string[] {
  return [
    '| target | goal | measured | status |',
    '| --- | ---: | ---: | --- |',
    ...report.targets.map((target) => {
      const status = target.status === 'met' ? 'met' : target.status === 'missed' ? `**missed**: ${target.shortfall}` : 'not measured';
      const scale = target.scaleNote ? ` (${target.scaleNote}: indicative only)` : '';
      return `| ${target.label} | ${op(target)} ${num(target.threshold)} ${target.unit} | ${num(target.value)} ${target.value === null ? '' : target.unit} | ${status}${scale} |`;
    }),
  ];
}

/** report.md: the run at a glance (targets, then each scenario's figures, notes and plots), every figure also in report.json. */
export function reportMarkdown(report: Report): string {
  const m = report.machine;
  const lines = [
    `# Benchmark: ${report.target}${report.quick ? ' (quick)' : ''}`,
    '',
    `- Server: ${report.target} at ${report.baseUrl}${report.syncBaseUrl !== report.baseUrl ? ` (/sync at ${report.syncBaseUrl})` : ''}`,
    `- Run: ${report.startedAt} → ${report.finishedAt} (${num(report.durationS)} s)`,
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, load average at start ${m.loadAverageAtStart.join(' / ')}`,
    `- ${m.note}`,
    `- Parameters: ${Object.entries(report.parameters)
      .map(([key, value]) => `\`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}\``)
      .join(', ')}`,
    `- HTTP: ${num(report.http['requests'])} requests, ${num(report.http['rateLimited'])} answered 429 (backed off), ${num(report.http['transportErrors'])} transport errors; statuses ${JSON.stringify(report.http['statuses'])}`,
    '',
    '## Targets',
    '',
    ...targetRows(report),
    '',
  ];
  for (const scenario of report.scenarios) {
    lines.push(`## ${scenario.title}`, '', `Status: **${scenario.status}** in ${num(scenario.durationS)} s.`);
    if (scenario.error) lines.push('', `Error: \`${scenario.error.replace(/`/g, "'").replace(/\n/g, ' ')}\``);
    if (Object.keys(scenario.parameters).length)
      lines.push(
        '',
        `Parameters: ${Object.entries(scenario.parameters)
          .map(([key, value]) => `\`${key}=${JSON.stringify(value)}\``)
          .join(', ')}`,
      );
    if (scenario.metrics.length)
      lines.push(
        '',
        '| figure | value |',
        '| --- | ---: |',
        ...scenario.metrics.map((metric) => `| ${metric.label} | ${num(metric.value)} ${metric.unit} |`),
      );
    if (scenario.notes.length) lines.push('', ...scenario.notes.map((note) => `- ${note}`));
    for (const plot of scenario.plots) lines.push('', `![${plot.title}](${plot.file})`);
    if (Object.keys(scenario.details).length)
      lines.push(
        '',
        '<details><summary>All figures</summary>',
        '',
        '```json',
        JSON.stringify(scenario.details, null, 2),
        '```',
        '',
        '</details>',
      );
    lines.push('');
  }
  lines.push('## Setup', '', '```json', JSON.stringify(report.setup, null, 2), '```', '');
  return lines.join('\n');
}
