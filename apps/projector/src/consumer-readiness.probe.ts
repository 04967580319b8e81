import { Injectable } from '@nestjs/common';
import type { EventLogConsumer } from '@mx/event-log';
import type { ReadinessProbe } from '@mx/http';

/**
 * Ready while the consumer is a member of its group: not before it first joined, and not while a
 * crashed consumer waits to be restarted (the projection then stands still).
 */
@Injectable()
export class ConsumerReadinessProbe implements ReadinessProbe {
  readonly name = 'consumer';
  private consumer: EventLogConsumer | undefined;

  watch(consumer: EventLogConsumer): void {
    this.consumer = consumer;
  }

  check(): Promise<void> {
    if (this.consumer === undefined) return Promise.reject(new Error('consumer not started'));
    return this.consumer.isConsuming()
      ? Promise.resolve()
      : Promise.reject(new Error('consumer not in its group (starting, or restarting after a crash)'));
  }
}
