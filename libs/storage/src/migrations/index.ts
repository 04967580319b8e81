import { InitialSchema1764230400000 } from './1764230400000-initial-schema.js';

/** Every migration, oldest first. Never edit one that has shipped: add a new one. */
export const MIGRATIONS = [InitialSchema1764230400000];
