import { log } from '../progress.js';
import { profileUpdates } from '../profile-updates.js';
import { barChart } from '../report/svg-plot.js';
import { type ScenarioResult } from '../report/model.js';
import { roundSummary, summarize } from '../stats.js';
import { newResult, type ScenarioContext } from './context.js';

/**
 * The filter of the initial syncs: only the profile section (no rooms, presence or account data), so
 * the figure is the cost of MSC4429's users section rather than of 10k member events of room state.
 */
export const PROFILES_ONLY = { room: { rooms: [] }, presence: { types: [] }, account_data: { types: [] } };

/**
 * Scenario 4: one user sharing a room with M users who all have the field set does an initial
 * /sync with a profile filter: time to the complete response and its size, for each M. Each request
 * uses a newly uploaded filter, so no server answers it from a response cache.
 */
export async function runInitialSync(ctx: ScenarioContext): Promise<ScenarioResult> {
  const o = ctx.options;
  const result = newResult('initial', 'Initial sync with M co-members who all have the field set', {
    sizes: o.initialSizes,
    repeats: o.initialRepeats,
    filter: PROFILES_ONLY,
    field: o.field,
  });
  const crowd = await ctx.crowd();
  const rows: Record<string, unknown>[] = [];
  for (const observer of crowd.observers) {
    const times: number[] = [];
    const sizes: number[] = [];
    const counts: number[] = [];
    let withValue = 0;
    let failed = 0;
    let firstMs: number | null = null;
    let roomSections = 0;
    for (let attempt = 0; attempt <= o.initialRepeats; attempt += 1) {
      // A filter of its own per request (same meaning, an extra unknown key): a server that caches
      // /sync responses by filter and token (Synapse does, for 2 minutes) must compute each one.
      const filter = await ctx.filterId(observer.user, [crowd.field], {
        ...PROFILES_ONLY,
        'com.example.bench.request': `${ctx.runTag}-${attempt}`,
      });
      const response = await ctx.matrix.sync(observer.user.token, { filter, timeout: 0 }, { timeoutMs: 120_000 });
      if (response.status !== 200) {
        failed += 1;
        continue;
      }
      const joined = (response.body['rooms'] as { join?: Record<string, unknown> } | undefined)?.join;
      if (joined && Object.keys(joined).length > 0) roomSections += 1;
      if (attempt === 0) {
        firstMs = response.ms;
        continue; // warm-up
      }
      const users = profileUpdates(response.body);
      users.delete(observer.user.userId);
      times.push(response.ms);
      sizes.push(response.bytes);
      counts.push(users.size);
      withValue = [...users.values()].filter((fields) => fields !== null && typeof fields[crowd.field] === 'string').length;
    }
    if (roomSections > 0)
      result.notes.push(
        `M=${observer.size}: the server sent room sections despite the filter's \`room.rooms: []\`; time and size include them.`,
      );
    const time = roundSummary(summarize(times));
    log(`initial sync M=${observer.size}: median ${time.p50 ?? '?'} ms, ${sizes[0] ?? '?'} bytes, ${counts[0] ?? '?'} users`);
    rows.push({
      m: observer.size,
      timeMs: time,
      firstMs: firstMs === null ? null : Math.round(firstMs * 1000) / 1000,
      responsesWithRoomSections: roomSections,
      bytes: roundSummary(summarize(sizes), 0),
      usersInResponse: counts.at(-1) ?? null,
      usersWithValue: withValue,
      failed,
    });
    if ((counts.at(-1) ?? 0) !== observer.size)
      result.notes.push(`M=${observer.size}: the response named ${counts.at(-1) ?? 0} co-members, not ${observer.size}.`);
    if (failed > 0) result.notes.push(`M=${observer.size}: ${failed} initial syncs failed.`);
    result.metrics.push(
      {
        id: `initial.m${observer.size}.time.p50`,
        scenario: 'initial',
        label: `initial sync time, M = ${observer.size} (median of ${times.length})`,
        value: time.p50,
        unit: 'ms',
        better: 'lower',
      },
      {
        id: `initial.m${observer.size}.bytes`,
        scenario: 'initial',
        label: `initial sync size, M = ${observer.size}`,
        value: sizes[0] ?? null,
        unit: 'bytes',
        better: 'lower',
      },
    );
  }
  Object.assign(result.details, { bySize: rows, crowdSetupSeconds: crowd.seconds, crowdReused: crowd.reused });
  result.plots.push(
    await ctx.writePlot(
      'initial-sync.svg',
      'Initial sync time by M',
      barChart({
        title: 'Initial sync with M co-members: time (median, p90)',
        xLabel: 'M (co-members with the field set)',
        yLabel: 'ms',
        categories: rows.map((row) => String(row['m'])),
        series: [
          { name: 'median', values: rows.map((row) => (row['timeMs'] as { p50: number | null }).p50) },
          { name: 'p90', values: rows.map((row) => (row['timeMs'] as { p90: number | null }).p90) },
        ],
      }),
    ),
  );
  return result;
}
