/** The structured logger the adapter reports to (pino's signature). */
export interface EventLogLogger {
  debug(context: object, message: string): void;
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}
