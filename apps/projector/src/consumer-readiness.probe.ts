import { Injectable } from '@nestjs/common';
import type { ReadinessProbe } from '@mx/http';

/** Ready once the consumer joined its group and began consuming. */
@Injectable()
export class ConsumerReadinessProbe implements ReadinessProbe {
  readonly name = 'consumer';
  private started = false;

  markStarted(): void {
    this.started = true;
  }

  check(): Promise<void> {
    return this.started ? Promise.resolve() : Promise.reject(new Error('consumer not started'));
  }
}
