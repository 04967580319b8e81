import { Module } from '@nestjs/common';
import { AccessTokenGuard } from './access-token.guard.js';
import { AccessTokenService } from './access-token.service.js';

/** Access tokens and the guard; the `Database` it needs comes from the global StorageModule. */
@Module({
  providers: [AccessTokenService, AccessTokenGuard],
  exports: [AccessTokenService, AccessTokenGuard],
})
export class AuthModule {}
