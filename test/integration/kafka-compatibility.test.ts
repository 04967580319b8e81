import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs (our client) against the project's own Kafka 4.x broker: topic creation, the idempotent
 * producer with acks=all, a consumer group with eachBatch, seek, and offset fetches — every
 * feature the design needs (deploy/local/kafka-smoke.mjs).
 */
/** The smoke script's steps, in its order; each passed one prints `[smoke] PASS <step> (<n> ms)`. */
const STEPS = [
  'admin.connect',
  'admin.createTopics (3 partitions)',
  'producer (idempotent, acks -1) send',
  'consumer group join + eachBatch',
  'consumer.seek (replay partition from offset 0)',
  'admin.fetchTopicOffsets',
  'admin.fetchOffsets (committed group offsets)',
  'admin.deleteTopics (cleanup)',
];

describe('kafkajs against the local Kafka broker', () => {
  it('passes every check the design relies on', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const run = await new Promise<{ status: number | string; output: string }>((resolve) =>
      execFile(process.execPath, [join(root, 'deploy/local/kafka-smoke.mjs')], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ status: error === null ? 0 : (error.code ?? error.signal ?? error.message), output: `${stdout}${stderr}` }),
      ),
    );
    // Its verdict: exit status 0 ("Exit 0 = all passed"), every step passed in order, and the closing count.
    expect(run.status, run.output).toBe(0);
    const steps = run.output
      .split('\n')
      .map((line) => /^\[smoke\] (PASS|FAIL) (.+?) \(\d+ ms\)/.exec(line))
      .filter((match) => match !== null)
      .map((match) => `${match[1]} ${match[2]}`);
    expect(steps, run.output).toEqual(STEPS.map((step) => `PASS ${step}`));
    expect(run.output).toMatch(new RegExp(`^${STEPS.length} passed, 0 failed {2}\\(\\d+ ms, broker `, 'm'));
  }, 90_000);
});
