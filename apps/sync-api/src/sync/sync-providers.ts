import type { Provider } from '@nestjs/common';
import { FilterStore } from '../filters/filter-store.js';
import { CommitWakeups } from './commit-wakeups.js';
import { LongPolls } from './long-polls.js';
import { MemoryAnswers } from './memory-answers.js';
import { ProfileUpdatesReader } from './profile-updates.reader.js';
import { RoomTimelineReader } from './room-timeline-reader.js';
import { SyncService } from './sync.service.js';
import { VisibilityReader } from './visibility-reader.js';

/** What builds a /sync answer from the projection: the same in standalone and companion mode. */
export const SYNC_PROVIDERS: Provider[] = [
  CommitWakeups,
  MemoryAnswers,
  LongPolls,
  ProfileUpdatesReader,
  RoomTimelineReader,
  VisibilityReader,
  FilterStore,
  SyncService,
];
