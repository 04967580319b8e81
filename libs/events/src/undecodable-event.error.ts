/** Raised when bytes read from a topic are not an event this code understands. */
export class UndecodableEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UndecodableEventError';
  }
}
