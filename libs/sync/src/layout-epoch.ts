import { createHash } from 'node:crypto';

export interface TopicLayout {
  /** The projection's own random epoch (rebuilding the projection changes it). */
  readonly projectionEpoch: string;
  readonly profileTopic: string;
  readonly profilePartitions: number;
  readonly membershipTopic: string;
  readonly membershipPartitions: number;
}

/** A short stable name for a topic layout; it changes whenever a token could no longer fit. */
export function layoutEpoch(layout: TopicLayout): string {
  const text = [
    layout.projectionEpoch,
    layout.profileTopic,
    layout.profilePartitions,
    layout.membershipTopic,
    layout.membershipPartitions,
  ].join('\n');
  return BigInt('0x' + createHash('sha256').update(text).digest('hex').slice(0, 12)).toString(36);
}
