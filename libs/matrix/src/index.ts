export * from './matrix-error.js';
export * from './user-id.js';
export * from './canonical-json.js';
export * from './profile-field.js';
export * from './storable-json.js';
