export * from './sync-token.js';
export * from './layout-epoch.js';
export * from './profile-field-filter.js';
export * from './sync-filter.js';
export * from './room-sections.js';
export * from './profile-visibility.js';
export * from './lazy-profile-cache.js';
