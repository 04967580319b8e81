import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { Kafka } from 'kafkajs';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { createKafkaClient } from '../kafkajs/create-kafka-client.js';
import { KafkajsAdmin } from '../kafkajs/kafkajs-admin.js';
import { KafkajsConsumer, type KafkajsConsumerOptions } from '../kafkajs/kafkajs-consumer.js';
import { KafkajsProducer } from '../kafkajs/kafkajs-producer.js';
import type { EventLogAdmin, EventLogConsumer, EventLogProducer } from '../event-log.port.js';
import { EVENT_LOG_ADMIN, EVENT_LOG_CONSUMER_FACTORY, EVENT_LOG_PRODUCER, KAFKA_CLIENT } from './event-log.tokens.js';

/** Makes a consumer-group member; injected as EVENT_LOG_CONSUMER_FACTORY. */
export type EventLogConsumerFactory = (options: KafkajsConsumerOptions) => EventLogConsumer;

@Injectable()
class EventLogShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_LOG_PRODUCER) private readonly producer: EventLogProducer,
    @Inject(EVENT_LOG_ADMIN) private readonly admin: EventLogAdmin,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.producer.disconnect(), this.admin.close()]);
  }
}

/** The Kafka client behind our event-log port: a producer (connected lazily) and an admin. */
@Global()
@Module({
  providers: [
    {
      provide: KAFKA_CLIENT,
      inject: [APP_CONFIG, PinoLogger],
      useFactory: (config: AppConfig, logger: PinoLogger) => {
        logger.setContext('kafka');
        return createKafkaClient(config.kafka, logger);
      },
    },
    {
      provide: EVENT_LOG_PRODUCER,
      inject: [KAFKA_CLIENT, APP_CONFIG],
      useFactory: (kafka: Kafka, config: AppConfig) => new KafkajsProducer(kafka, config.kafka.ackTimeoutMs),
    },
    { provide: EVENT_LOG_ADMIN, inject: [KAFKA_CLIENT], useFactory: (kafka: Kafka) => new KafkajsAdmin(kafka) },
    {
      provide: EVENT_LOG_CONSUMER_FACTORY,
      inject: [KAFKA_CLIENT],
      useFactory:
        (kafka: Kafka): EventLogConsumerFactory =>
        (options) =>
          new KafkajsConsumer(kafka, options),
    },
    EventLogShutdown,
  ],
  exports: [KAFKA_CLIENT, EVENT_LOG_PRODUCER, EVENT_LOG_ADMIN, EVENT_LOG_CONSUMER_FACTORY],
})
export class EventLogModule {}
