export * from './app-config.js';
export * from './kafka-connection-options.js';
export * from './environment-variables.js';
export * from './load-app-config.js';
export * from './app-config.module.js';
