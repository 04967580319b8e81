/** Injection tokens of the event-log port. */
export const EVENT_LOG_PRODUCER = Symbol('EVENT_LOG_PRODUCER');
export const EVENT_LOG_ADMIN = Symbol('EVENT_LOG_ADMIN');
export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');
export const EVENT_LOG_CONSUMER_FACTORY = Symbol('EVENT_LOG_CONSUMER_FACTORY');
