export * from './access-token.js';
export * from './extract-access-token.js';
export * from './password-hasher.js';
export * from './requester.js';
export * from './access-token.service.js';
export * from './access-token.guard.js';
export * from './authenticated-requester.decorator.js';
export * from './auth.module.js';
