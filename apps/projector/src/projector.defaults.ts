import type { ServiceDefaults } from '@mx/config';

export const PROJECTOR_DEFAULTS: ServiceDefaults = { httpPort: 8103 };
