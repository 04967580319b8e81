import { InitialSchema1764230400000 } from './1764230400000-initial-schema.js';
import { UiaSessionsAndRejectedEvents1764234000000 } from './1764234000000-uia-sessions-and-rejected-events.js';
import { RoomsAndMemberships1764237600000 } from './1764237600000-rooms-and-memberships.js';
import { FiltersAndMemberHistory1764241200000 } from './1764241200000-filters-and-member-history.js';
import { DeadLetters1764244800000 } from './1764244800000-dead-letters.js';
import { AccessTokenInvalidation1764248400000 } from './1764248400000-access-token-invalidation.js';
import { ObservedMemberships1764252000000 } from './1764252000000-observed-memberships.js';
import { CompanionBootstrapProgress1764255600000 } from './1764255600000-companion-bootstrap-progress.js';
import { CompanionProfileRepairs1764259200000 } from './1764259200000-companion-profile-repairs.js';

/** Every migration, oldest first. Never edit one that has shipped: add a new one. */
export const MIGRATIONS = [
  InitialSchema1764230400000,
  UiaSessionsAndRejectedEvents1764234000000,
  RoomsAndMemberships1764237600000,
  FiltersAndMemberHistory1764241200000,
  DeadLetters1764244800000,
  AccessTokenInvalidation1764248400000,
  ObservedMemberships1764252000000,
  CompanionBootstrapProgress1764255600000,
  CompanionProfileRepairs1764259200000,
];
