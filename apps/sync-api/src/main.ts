import 'reflect-metadata';
import { createHttpService, listen, loadConfigOrExit } from '@mx/http';
import { CompanionSyncApiModule } from './companion/companion-sync-api.module.js';
import { SYNC_API_DEFAULTS } from './sync-api.defaults.js';
import { SyncApiModule } from './sync-api.module.js';

const config = loadConfigOrExit(SYNC_API_DEFAULTS);
const app = await createHttpService(config.mode === 'companion' ? CompanionSyncApiModule : SyncApiModule, config);
await listen(app, config);
