/** What the integration global setup provides to every test file. */
export interface TestStack {
  /** The one client-facing URL (nginx router), as clients use it. */
  readonly baseUrl: string;
  readonly writerUrl: string;
  readonly syncApiUrl: string;
  readonly projectorUrl: string;
  readonly serverName: string;
  /** Ports of this run are portBase + n; every offset a test file uses is named in test/support/ports.ts. */
  readonly portBase: number;
  /** Where this run's service logs go. */
  readonly logDir: string;
  /** The environment the services run with (database, Kafka, topic names). */
  readonly env: Readonly<Record<string, string>>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}
