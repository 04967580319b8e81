import { AccessTokenEntity } from './access-token.entity.js';
import { AccountEntity } from './account.entity.js';
import { DeviceEntity } from './device.entity.js';
import { ProfileFieldEntity } from './profile-field.entity.js';
import { ProjectionPositionEntity } from './projection-position.entity.js';

export { AccessTokenEntity, AccountEntity, DeviceEntity, ProfileFieldEntity, ProjectionPositionEntity };

export const ENTITIES = [AccountEntity, DeviceEntity, AccessTokenEntity, ProfileFieldEntity, ProjectionPositionEntity];
