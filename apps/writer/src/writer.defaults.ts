import type { ServiceDefaults } from '@mx/config';

export const WRITER_DEFAULTS: ServiceDefaults = { httpPort: 8101 };
