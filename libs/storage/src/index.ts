export * from './entities/index.js';
export * from './migrations/index.js';
export * from './data-source-options.js';
export * from './run-migrations.js';
export * from './storage.module.js';
export * from './projection-changes.js';
export * from './postgres-listener.js';
export * from './projection-follower.js';
