import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_PORT_OFFSET, PORT_OFFSETS, registeredPortOffsets } from '../support/ports.js';

/**
 * The integration test files run two at a time against one port base: a port two of them share lets a process that
 * failed to bind pass for ready while the test talks to the other file's process. Every port comes from one registry.
 */
describe('the ports the integration tests listen on (test/support/ports.ts)', () => {
  const offsets = registeredPortOffsets();

  it('are all different', () => {
    const users = new Map<number, string[]>();
    for (const { use, offset } of offsets) users.set(offset, [...(users.get(offset) ?? []), use]);
    expect([...users].filter(([, uses]) => uses.length > 1)).toEqual([]);
  });

  it('stay within base + 1 … base + 240, as the README promises', () => {
    expect(offsets.filter(({ offset }) => !Number.isInteger(offset) || offset < 1 || offset > MAX_PORT_OFFSET)).toEqual([]);
    expect(offsets.length).toBeGreaterThan(40);
  });

  it('list the controller port of every broker of a test’s own, which startOwnBroker puts next to it', () => {
    const brokers = Object.entries(PORT_OFFSETS).flatMap(([owner, uses]) =>
      'kafka' in uses ? [{ owner, kafka: uses.kafka, controller: (uses as { kafkaController?: number }).kafkaController }] : [],
    );
    expect(brokers.length).toBeGreaterThan(0);
    for (const broker of brokers) expect(broker.controller, broker.owner).toBe(broker.kafka + 1);
  });

  it('are never written as literals in the integration tests or their support code', () => {
    const root = join(import.meta.dirname, '..');
    const literals: string[] = [];
    for (const dir of ['integration', 'support']) {
      for (const file of readdirSync(join(root, dir)).filter((name) => /\.(ts|mts|mjs)$/.test(name) && name !== 'ports.ts')) {
        // Code only: comments may say how ports are laid out.
        const source = readFileSync(join(root, dir, file), 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/(^|\s)\/\/.*$/gm, '$1');
        for (const pattern of [
          /portBase\s*\+\s*\d+/g,
          /\b(?:extraService|extraWriter|startOwnBroker)\([^;]*?,\s*\d+\s*[+,)]/g,
          /MX_(?:HTTP|ROUTER|WRITER|SYNC_API|KAFKA|KAFKA_CONTROLLER|PG)_PORT:\s*['"]?\d/g,
        ])
          for (const match of source.matchAll(pattern)) literals.push(`${dir}/${file}: ${match[0]}`);
      }
    }
    expect(literals).toEqual([]);
  });
});
