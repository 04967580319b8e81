import { AccessTokenEntity } from './access-token.entity.js';
import { AccountEntity } from './account.entity.js';
import { DeviceEntity } from './device.entity.js';
import { ProfileFieldEntity } from './profile-field.entity.js';
import { ProjectionPositionEntity } from './projection-position.entity.js';
import { RejectedEventEntity } from './rejected-event.entity.js';
import { UiaSessionEntity } from './uia-session.entity.js';

export {
  AccessTokenEntity,
  AccountEntity,
  DeviceEntity,
  ProfileFieldEntity,
  ProjectionPositionEntity,
  RejectedEventEntity,
  UiaSessionEntity,
};

export const ENTITIES = [
  AccountEntity,
  DeviceEntity,
  AccessTokenEntity,
  UiaSessionEntity,
  ProfileFieldEntity,
  ProjectionPositionEntity,
  RejectedEventEntity,
];
