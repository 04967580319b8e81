export * from './room-event.js';
export * from './power-levels.js';
export * from './room-state.js';
export * from './authorize-room-event.js';
export * from './apply-room-event.js';
export * from './identifiers.js';
export * from './create-room-events.js';
export * from './fold-room-entries.js';
