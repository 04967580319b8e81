export * from './profile-value-rules.js';
export * from './profile-field-policy.js';
export * from './profile-size.js';
export * from './fold-profile-events.js';
export * from './profile-size-cache.js';
