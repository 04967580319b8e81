import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSyncToken, encodeSyncToken, fitsLayout, isBehind, layoutEpoch, MalformedSyncTokenError } from '@mx/sync';

const offsets = fc.array(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { minLength: 1, maxLength: 64 });
const positions = fc.record({ epoch: fc.stringMatching(/^[a-z0-9]{1,32}$/), profile: offsets, membership: offsets });

describe('sync tokens', () => {
  it('round-trip and stay URL-safe', () => {
    fc.assert(
      fc.property(positions, (value) => {
        const token = encodeSyncToken(value);
        expect(token).toMatch(/^[A-Za-z0-9._~-]+$/);
        expect(encodeURIComponent(token)).toBe(token);
        expect(decodeSyncToken(token)).toEqual(value);
      }),
    );
  });

  it('reject anything else as malformed', () => {
    for (const token of [
      '',
      'm1',
      'm2_a_0_0',
      'm1_a_0',
      'm1__0_0',
      'm1_a_0._0',
      'm1_a_0_0_0',
      'm1_A_0_0',
      's72_1',
      'm1_a_-1_0',
      'm1_a_zzzzzzzzzzzz_0',
    ]) {
      expect(() => decodeSyncToken(token), token).toThrow(MalformedSyncTokenError);
    }
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          decodeSyncToken(text);
          return text.startsWith('m1_');
        } catch (error) {
          return error instanceof MalformedSyncTokenError;
        }
      }),
    );
  });

  it('know when a token no longer fits the topic layout', () => {
    const current = { epoch: 'abc', profile: [1, 2], membership: [3] };
    expect(fitsLayout({ epoch: 'abc', profile: [0, 0], membership: [0] }, current)).toBe(true);
    expect(fitsLayout({ epoch: 'abd', profile: [0, 0], membership: [0] }, current)).toBe(false);
    expect(fitsLayout({ epoch: 'abc', profile: [0], membership: [0] }, current)).toBe(false);
  });

  it('compare positions partition by partition', () => {
    const since = { epoch: 'e', profile: [5, 5], membership: [1] };
    expect(isBehind(since, { epoch: 'e', profile: [5, 5], membership: [1] })).toBe(false);
    expect(isBehind(since, { epoch: 'e', profile: [5, 6], membership: [1] })).toBe(true);
    expect(isBehind(since, { epoch: 'e', profile: [5, 5], membership: [2] })).toBe(true);
  });

  it('derive a different epoch for a different layout', () => {
    const layout = {
      projectionEpoch: 'abc123',
      profileTopic: 'mx.profile.v1',
      profilePartitions: 8,
      membershipTopic: 'mx.membership.v1',
      membershipPartitions: 8,
    };
    // The epoch is part of every client's since token, so it must not change between versions:
    // base 36 of the first 48 bits of SHA-256 over the five values joined by newlines, worked out
    // outside this code (sha256sum, then Python's int(hex[:12], 16) in base 36).
    expect(layoutEpoch(layout)).toBe('23t218r2xt');
    expect(layoutEpoch({ ...layout, profilePartitions: 16 })).toBe('2dklz32u28');
    // Any one value of the layout changes it.
    const epochs = [
      layout,
      { ...layout, projectionEpoch: 'def456' },
      { ...layout, profileTopic: 'mx.profile.v2' },
      { ...layout, profilePartitions: 16 },
      { ...layout, membershipTopic: 'mx.membership.v2' },
      { ...layout, membershipPartitions: 16 },
    ].map(layoutEpoch);
    expect(new Set(epochs).size).toBe(epochs.length);
    for (const epoch of epochs) expect(epoch).toMatch(/^[a-z0-9]{1,32}$/);
  });
});
