import { Body, Controller, Headers, HttpCode, Inject, Param, Post, Put } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { MatrixErrors } from '@mx/matrix';
import { checkHomeserverToken } from './appservice-auth.js';
import { AppserviceTransactions } from './appservice-transactions.js';

/**
 * The Application Service API the homeserver calls (companion mode only; never routed publicly:
 * the homeserver calls the writer's port directly). Every request must carry the registration's
 * `hs_token`.
 */
@ApiExcludeController()
@Controller('_matrix/app/v1')
export class AppserviceController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly transactions: AppserviceTransactions,
  ) {}

  /** `PUT /_matrix/app/v1/transactions/{txnId}`: 200 `{}` once the member events are durable in the log. */
  @Put('transactions/:txnId')
  async transaction(
    @Param('txnId') txnId: string,
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
  ): Promise<Record<string, never>> {
    checkHomeserverToken(authorization, this.hsToken());
    await this.transactions.receive(txnId, body);
    return {};
  }

  /** `POST /_matrix/app/v1/ping`: the homeserver checking it can reach us. */
  @Post('ping')
  @HttpCode(200)
  ping(@Headers('authorization') authorization: string | undefined): Record<string, never> {
    checkHomeserverToken(authorization, this.hsToken());
    return {};
  }

  private hsToken(): string {
    const token = this.config.appservice?.hsToken;
    if (token === undefined) throw MatrixErrors.unrecognized();
    return token;
  }
}
