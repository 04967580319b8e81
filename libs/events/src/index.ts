export * from './undecodable-event.error.js';
export * from './profile-event.js';
export * from './room-log-entry.js';
