export * from './sync-token.js';
export * from './layout-epoch.js';
export * from './profile-field-filter.js';
