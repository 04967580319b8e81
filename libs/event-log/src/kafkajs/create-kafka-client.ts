import { Kafka, logLevel, type LogEntry, type SASLOptions } from 'kafkajs';
import type { KafkaConnectionOptions } from '@mx/config';
import type { EventLogLogger } from './event-log-logger.js';
import { fixKafkajsRequestQueue } from './request-queue-fix.js';

/** Builds a kafkajs client whose own log lines go to our structured logger. */
export function createKafkaClient(options: KafkaConnectionOptions, logger: EventLogLogger): Kafka {
  fixKafkajsRequestQueue();
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    ssl: options.ssl,
    ...(options.sasl ? { sasl: { ...options.sasl } as SASLOptions } : {}),
    connectionTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    // Short backoffs (kafkajs waits up to 30 s by default): writes fail fast while the broker is
    // away, and producers and consumers are back within seconds of its return.
    retry: { initialRetryTime: 200, retries: 5, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, ...rest } = log;
        const context = { kafka: namespace, ...rest };
        if (level === logLevel.ERROR) logger.error(context, message);
        else if (level === logLevel.WARN) logger.warn(context, message);
        else if (level === logLevel.INFO) logger.info(context, message);
        else logger.debug(context, message);
      },
  });
}
