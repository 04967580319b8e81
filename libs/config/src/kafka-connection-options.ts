export interface KafkaSaslOptions {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/**
 * How to reach the Kafka cluster: the part of the configuration the event log's Kafka client is
 * built from. Declared here, not in `@mx/event-log`, because the event log already reads the
 * configuration (APP_CONFIG): the configuration depends on nothing of ours.
 */
export interface KafkaConnectionOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean;
  readonly sasl?: KafkaSaslOptions;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}
