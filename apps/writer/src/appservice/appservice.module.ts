import { Module } from '@nestjs/common';
import { AppserviceController } from './appservice.controller.js';
import { AppserviceTransactions } from './appservice-transactions.js';

/**
 * Companion mode's Application Service endpoints. The writer imports it only when `MX_MODE` is
 * `companion` (see writer.module.ts): in standalone mode the routes do not exist (404 M_UNRECOGNIZED).
 */
@Module({ controllers: [AppserviceController], providers: [AppserviceTransactions] })
export class AppserviceModule {}

/** Whether the writer runs in companion mode, read as the module graph is declared (the full configuration is validated at start-up). */
export function companionMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['MX_MODE'] === 'companion';
}
