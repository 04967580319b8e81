export * from './companion-sync-token.js';
export * from './appservice-transaction.js';
export * from './membership-ordering.js';
export * from './homeserver-client.js';
