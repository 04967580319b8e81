import { describe, expect, it } from 'vitest';
import { advantage, compareMarkdown, compareMetrics } from '../bench/src/compare.js';
import { type Metric, type Report } from '../bench/src/report/model.js';
import { evaluate, TARGETS } from '../bench/src/targets.js';

const metric = (id: string, value: number | null, better: 'lower' | 'higher'): Metric => ({
  id,
  scenario: 'fanout',
  label: id,
  value,
  unit: 'x',
  better,
});

describe('bench compare ratios', () => {
  it('says how many times better A is in the metric direction', () => {
    expect(advantage(10, 100, 'lower')).toBe(10);
    expect(advantage(5000, 250, 'higher')).toBe(20);
    expect(advantage(0, 3, 'lower')).toBeNull();
    expect(advantage(null, 3, 'higher')).toBeNull();
  });

  it('pairs metrics by id, keeping ones only one side has', () => {
    const rows = compareMetrics([metric('a', 2, 'lower'), metric('b', 100, 'higher')], [metric('a', 8, 'lower'), metric('c', 1, 'lower')]);
    expect(rows.map((row) => row.id)).toEqual(['a', 'b', 'c']);
    expect(rows[0]).toMatchObject({ a: 2, b: 8, ratio: 4, advantage: 4 });
    expect(rows[1]).toMatchObject({ a: 100, b: null, ratio: null, advantage: null });
  });

  it('renders a Markdown table with a star for target metrics at 10× or better', () => {
    const report = (target: string, p99: number): Report => ({
      schema: 'mx-bench/1',
      target,
      baseUrl: 'http://127.0.0.1:1',
      syncBaseUrl: 'http://127.0.0.1:1',
      quick: false,
      startedAt: 't',
      finishedAt: 't',
      durationS: 1,
      machine: { cpuModel: 'cpu', cores: 2, memoryGiB: 1, os: 'os', node: 'v24', loadAverageAtStart: [], note: '' },
      parameters: { users: 1000 },
      setup: {},
      http: {},
      scenarios: [
        {
          name: 'fanout',
          title: 'fan-out',
          status: 'ok',
          notes: [],
          durationS: 1,
          parameters: {},
          details: {},
          metrics: [metric('fanout.latency.p99', p99, 'lower')],
          plots: [],
        },
      ],
      targets: [],
    });
    const markdown = compareMarkdown(report('project', 20), report('synapse', 400), 'A', 'B');
    expect(markdown).toContain('| fanout.latency.p99 | x | 20 | 400 | 20.0× | 20.0× ★ |');
  });
});

describe('bench targets', () => {
  const scale = { users: 1000, fanoutRate: 100, initialSizes: [1000, 10000], memoryParked: 1000 };
  const spec = (id: string) => TARGETS.find((target) => target.metric === id)!;

  it('says by how much a target is missed', () => {
    expect(evaluate(spec('fanout.latency.p99'), 75, scale)).toMatchObject({ status: 'missed', shortfall: '25 ms over (1.5× the limit)' });
    expect(evaluate(spec('writes.per_second'), 1500, scale)).toMatchObject({
      status: 'missed',
      shortfall: '1500 /s short (50 % of the target)',
    });
    expect(evaluate(spec('fanout.leaks'), 0, scale).status).toBe('met');
    expect(evaluate(spec('fanout.missing'), 3, scale).shortfall).toBe('3 instead of 0');
    expect(evaluate(spec('replay.events_per_second'), null, scale).status).toBe('not-measured');
  });

  it('flags a run at another scale', () => {
    expect(evaluate(spec('fanout.latency.p99'), 10, { ...scale, users: 60 }).scaleNote).toContain('60 clients');
    expect(evaluate(spec('initial.m10000.time.p50'), 10, { ...scale, initialSizes: [50] }).scaleNote).toContain('M = 50');
  });
});
