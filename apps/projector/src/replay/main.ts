import { availableParallelism } from 'node:os';
import { WorkerLane } from './replay-lanes.js';

/**
 * Rebuilds the projection from the topics into a fresh schema, then either compares it with the
 * live projection (`verify`: exit 1 on any difference) or swaps it in (`rebuild`: stop the
 * projectors first; the old tables are kept in a backup schema). Exit 2 when the replay failed.
 *
 * Batches are applied by the projector's own code (one transaction per partition batch, as the
 * live projector does) in worker threads (`--workers`, default one per CPU up to 4; 0 applies
 * them in this thread): each partition in log order, different partitions in parallel, while this
 * thread fetches the next batches. Each worker holds a projector of its own and the batch it
 * applies (a few hundred MB); see replay-command.ts for the other bounds on memory.
 *
 *   node dist/apps/projector/src/replay/main.js verify|rebuild [--keep] [--workers N]
 *
 * This entry module loads nothing heavy: the worker threads start loading the projector at once,
 * while this thread loads its own and joins the consumer group.
 */
const USAGE = 'usage: replay <verify|rebuild> [--keep] [--workers N]\n';
const DEFAULT_MAX_WORKERS = 4;

const mode = process.argv[2];
const workersFlag = process.argv.indexOf('--workers');
const workerCount = workersFlag < 0 ? Math.min(availableParallelism(), DEFAULT_MAX_WORKERS) : Number(process.argv[workersFlag + 1]);
if ((mode !== 'verify' && mode !== 'rebuild') || !Number.isInteger(workerCount) || workerCount < 0) {
  process.stderr.write(USAGE);
  process.exit(64);
}
const keep = process.argv.includes('--keep');
const live = process.env['MX_DATABASE_SCHEMA'] ?? 'public';
const schema = `replay_${Date.now().toString(36)}`;
// The replay's projector, this thread's and the workers' (they copy the environment now), works in the fresh schema.
process.env['MX_DATABASE_SCHEMA'] = schema;
process.env['MX_LOG_LEVEL'] ??= 'warn';
const workers = Array.from(
  { length: workerCount },
  (_, index) => new WorkerLane(new URL('./replay-worker.js', import.meta.url), `replay-${index}`),
);
const { replay } = await import('./replay-command.js');
process.exit(await replay({ mode, keep, live, schema, workers }));
