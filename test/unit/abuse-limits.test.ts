import { createRequire } from 'node:module';
import fc from 'fast-check';
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ConfigValidationError, loadAppConfig } from '@mx/config';
import { isKafkaTooLargeError, type LogRecord, MAX_PARTITION_BATCH_BYTES, recordBatchBytes } from '@mx/event-log';
import { encodeRoomLogEntry } from '@mx/events';
import { createRoomEvents, newRoomId, type RoomEvent } from '@mx/rooms';
import { loginAccountOf } from '../../apps/writer/src/login/login-user-id.js';

/**
 * The pieces of the abuse limits that need no running stack: the size bound the event-log
 * producer checks appends against (it must never under-estimate what kafkajs sends), the
 * recognition of the broker's "too large" errors, why the default invite cap keeps every
 * createRoom within one batch, the account a login attempt is counted against, and the new
 * configuration. test/integration/abuse-limits.test.ts covers the same through the real stack.
 */
const require = createRequire(import.meta.url);
const { RecordBatch: kafkajsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (options: { records: unknown[] }) => Promise<{ buffer: Buffer }>;
};
const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer;
  value: Buffer;
  headers: Record<string, string>;
}) => unknown;
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode: (code: number) => Error };

/** The bytes kafkajs puts on the wire for these records as one batch (as its producer encodes them). */
async function encodedBatchBytes(records: readonly LogRecord[]): Promise<number> {
  const batch = await kafkajsRecordBatch({
    records: records.map((record, index) =>
      kafkajsRecord({
        offsetDelta: index,
        // A producer's timestamps differ by at most the time the batch spans; a large delta is the worst case.
        timestampDelta: index * 1_000_000_000,
        key: Buffer.from(record.key, 'utf8'),
        value: record.value,
        headers: { ...record.headers },
      }),
    ),
  });
  return batch.buffer.length;
}

const logRecord = fc.record({
  key: fc.string({ unit: 'grapheme', maxLength: 300 }),
  value: fc.uint8Array({ maxLength: 20_000 }).map((bytes) => Buffer.from(bytes)),
  headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 50 }), { maxKeys: 3 }),
});

describe('recordBatchBytes', () => {
  it('never under-estimates the batch kafkajs encodes, and over-estimates by at most the varints it assumes at their widest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(logRecord, { maxLength: 40 }), async (records) => {
        const actual = await encodedBatchBytes(records);
        const estimate = recordBatchBytes(records);
        expect(estimate).toBeGreaterThanOrEqual(actual);
        const headers = records.reduce((sum, record) => sum + Object.keys(record.headers).length, 0);
        expect(estimate - actual).toBeLessThanOrEqual(records.length * 36 + headers * 10);
      }),
      { numRuns: 200 },
    );
  });

  it('counts a key by its UTF-8 bytes', () => {
    const empty = recordBatchBytes([{ key: '', value: Buffer.alloc(0) }]);
    expect(recordBatchBytes([{ key: 'é', value: Buffer.alloc(0) }]) - empty).toBe(2);
    expect(recordBatchBytes([{ key: '', value: Buffer.alloc(10) }]) - empty).toBe(10);
  });
});

describe('isKafkaTooLargeError', () => {
  it("recognises the broker's refusals for size, bare or wrapped by kafkajs's retrier", () => {
    for (const code of [10, 18]) {
      const protocolError = createErrorFromCode(code);
      expect(protocolError).toBeInstanceOf(KafkaJSProtocolError);
      expect(isKafkaTooLargeError(protocolError)).toBe(true);
      // As kafkajs's retrier wraps it: new KafkaJSNonRetriableError(error, { cause }) (its typings omit the second argument).
      expect(isKafkaTooLargeError(Object.assign(new KafkaJSNonRetriableError(protocolError), { cause: protocolError }))).toBe(true);
    }
  });

  it('leaves every other failure alone (they stay retryable 503s)', () => {
    for (const code of [6, 7, 19, 87]) expect(isKafkaTooLargeError(createErrorFromCode(code))).toBe(false);
    expect(isKafkaTooLargeError(new Error('Kafka did not acknowledge within 5000 ms'))).toBe(false);
    expect(isKafkaTooLargeError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isKafkaTooLargeError(undefined)).toBe(false);
  });
});

describe('createRoom and the event log batch', () => {
  const serverName = 'test.local';
  const config = loadAppConfig({}, { httpPort: 1 });
  /** The records a createRoom appends, as the writer encodes them (all keyed by the room, so one partition). */
  const records = (events: readonly RoomEvent[]): LogRecord[] =>
    events.map((event) => ({
      key: event.room_id,
      value: encodeRoomLogEntry({ v: 1, id: event.event_id, type: 'room.event', room_id: event.room_id, event }),
    }));
  /** A 255-byte user ID of quotes and backslashes, which JSON doubles: the largest an invitee can take in an event. */
  const longUserId = (index: number): string => {
    const suffix = `${index}:${serverName}`;
    return `@${'"\\'.repeat(127).slice(0, 254 - suffix.length)}${suffix}`;
  };

  it('with the defaults, the largest createRoom the API accepts fits one batch: the size limit is not reachable through the API', () => {
    expect(config.rooms.maxInvitesPerCreate).toBe(100);
    expect(config.http.bodyLimitBytes).toBe(262_144);
    expect(config.profile.maxBytes).toBe(65_536);
    const invite = Array.from({ length: config.rooms.maxInvitesPerCreate }, (_, index) => longUserId(index));
    for (const userId of invite) expect(Buffer.byteLength(userId)).toBe(255);
    const events = createRoomEvents({
      roomId: newRoomId(serverName),
      creator: longUserId(999),
      // Upper bounds: the creator's whole profile in the join event, a name as large as a whole request body.
      creatorProfile: { displayname: 'd'.repeat(config.profile.maxBytes), membership: 'join' },
      roomVersion: '11',
      preset: 'trusted_private_chat',
      name: '\u0001'.repeat(config.http.bodyLimitBytes / 6),
      alias: `#${'a'.repeat(255)}:${serverName}`,
      invite,
      isDirect: true,
      now: Date.now(),
    });
    const bytes = recordBatchBytes(records(events));
    expect(bytes).toBeLessThan(MAX_PARTITION_BATCH_BYTES);
  });

  it('with the cap raised to thousands, the events of one createRoom exceed one batch (the writer answers 413 M_TOO_LARGE)', () => {
    const events = createRoomEvents({
      roomId: newRoomId(serverName),
      creator: `@alice:${serverName}`,
      creatorProfile: { membership: 'join' },
      roomVersion: '11',
      preset: 'trusted_private_chat',
      invite: Array.from({ length: 6000 }, (_, index) => `@i${index}:${serverName}`),
      isDirect: false,
      now: Date.now(),
    });
    expect(recordBatchBytes(records(events))).toBeGreaterThan(MAX_PARTITION_BATCH_BYTES);
  });
});

describe('loginAccountOf (the account a login attempt counts against)', () => {
  it('names the same account however the login spells it', () => {
    for (const body of [
      { identifier: { type: 'm.id.user', user: 'alice' } },
      { identifier: { type: 'm.id.user', user: 'ALICE' } },
      { identifier: { type: 'm.id.user', user: '@alice:test.local' } },
      { user: 'Alice' },
    ]) {
      expect(loginAccountOf({ type: 'm.login.password', password: 'x', ...body }, 'test.local')).toBe('@alice:test.local');
    }
  });

  it('names none for bodies that name no user', () => {
    for (const body of [
      null,
      'alice',
      [],
      {},
      { user: '' },
      { user: 5 },
      { identifier: 'alice' },
      { identifier: { type: 'm.id.thirdparty', user: 'alice' } },
      { identifier: { type: 'm.id.user' } },
      JSON.parse('{"identifier":{"type":"m.id.user","__proto__":{"user":"alice"}}}') as unknown,
    ]) {
      expect(loginAccountOf(body, 'test.local')).toBeUndefined();
    }
  });
});

describe('rate-limit configuration', () => {
  it('has defaults: login 30 per address and 10 per account a minute, registration 20 per address, createRoom 30 and 10, 100 invites', () => {
    const config = loadAppConfig({}, { httpPort: 1 });
    expect(config.rateLimits).toEqual({
      login: { perAddress: 30, perAccount: 10, windowMs: 60_000 },
      registration: { perAddress: 20, windowMs: 60_000 },
      createRoom: { perAddress: 30, perAccount: 10, windowMs: 60_000 },
    });
    expect(config.rooms).toEqual({ maxInvitesPerCreate: 100 });
  });

  it('reads every variable and refuses bad values at start-up', () => {
    const config = loadAppConfig(
      {
        MX_LOGIN_RATE_LIMIT_PER_ADDRESS: '7',
        MX_LOGIN_RATE_LIMIT_PER_ACCOUNT: '3',
        MX_LOGIN_RATE_WINDOW_MS: '1000',
        MX_REGISTRATION_RATE_LIMIT_PER_ADDRESS: '2',
        MX_REGISTRATION_RATE_WINDOW_MS: '2000',
        MX_CREATE_ROOM_RATE_LIMIT_PER_ADDRESS: '9',
        MX_CREATE_ROOM_RATE_LIMIT_PER_ACCOUNT: '4',
        MX_CREATE_ROOM_RATE_WINDOW_MS: '3000',
        MX_CREATE_ROOM_MAX_INVITES: '0',
      },
      { httpPort: 1 },
    );
    expect(config.rateLimits).toEqual({
      login: { perAddress: 7, perAccount: 3, windowMs: 1000 },
      registration: { perAddress: 2, windowMs: 2000 },
      createRoom: { perAddress: 9, perAccount: 4, windowMs: 3000 },
    });
    expect(config.rooms.maxInvitesPerCreate).toBe(0);
    const bad = {
      MX_LOGIN_RATE_LIMIT_PER_ADDRESS: '0',
      MX_LOGIN_RATE_LIMIT_PER_ACCOUNT: 'ten',
      MX_LOGIN_RATE_WINDOW_MS: '10',
      MX_REGISTRATION_RATE_LIMIT_PER_ADDRESS: '-1',
      MX_REGISTRATION_RATE_WINDOW_MS: '1.5',
      MX_CREATE_ROOM_RATE_LIMIT_PER_ADDRESS: '0',
      MX_CREATE_ROOM_RATE_LIMIT_PER_ACCOUNT: '0',
      MX_CREATE_ROOM_RATE_WINDOW_MS: '99',
      MX_CREATE_ROOM_MAX_INVITES: '10001',
    };
    try {
      loadAppConfig(bad, { httpPort: 1 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigValidationError);
      const problems = (error as ConfigValidationError).problems.join('\n');
      for (const name of Object.keys(bad)) expect(problems).toContain(name);
    }
  });
});
