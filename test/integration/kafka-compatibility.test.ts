import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs (our client) against the project's own Kafka 4.x broker: topic creation, the idempotent
 * producer with acks=all, a consumer group with eachBatch, seek, and offset fetches — every
 * feature the design needs (deploy/local/kafka-smoke.mjs).
 */
describe('kafkajs against the local Kafka broker', () => {
  it('passes every check the design relies on', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'deploy/local/kafka-smoke.mjs')], {
      cwd: root,
      timeout: 60_000,
    });
    expect(stdout).toMatch(/pass|ok/i);
  }, 90_000);
});
