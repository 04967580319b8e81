import type { ServiceDefaults } from '@mx/config';

export const SYNC_API_DEFAULTS: ServiceDefaults = { httpPort: 8102 };
