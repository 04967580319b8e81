export interface KafkaSaslOptions {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/** How to reach the Kafka cluster. */
export interface KafkaConnectionOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean;
  readonly sasl?: KafkaSaslOptions;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** The structured logger the adapter reports to (pino's signature). */
export interface EventLogLogger {
  debug(context: object, message: string): void;
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}
