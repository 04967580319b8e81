import type { ProfileEvent } from '@mx/events';

/** The latest change of one (user, field) within a batch, with where it came from. */
export interface ProfileFieldChange {
  readonly userId: string;
  readonly field: string;
  readonly isSet: boolean;
  readonly value: unknown;
  readonly offset: number;
  readonly ts: number;
}

/** Collapses a partition's events (in log order) to the last change per (user, field). */
export function collapseProfileEvents(events: readonly { readonly offset: number; readonly event: ProfileEvent }[]): ProfileFieldChange[] {
  const latest = new Map<string, ProfileFieldChange>();
  for (const { offset, event } of events) {
    const key = JSON.stringify([event.user_id, event.field]);
    latest.delete(key);
    latest.set(key, {
      userId: event.user_id,
      field: event.field,
      isSet: event.type === 'profile.field.set',
      value: event.type === 'profile.field.set' ? event.value : null,
      offset,
      ts: event.ts,
    });
  }
  return [...latest.values()];
}
