import type { ServerResponse } from 'node:http';

/** The reason a request's signal gives: one object for all (an abort without a reason builds a DOMException, stack and all, each time). */
const CLIENT_GONE = Object.freeze(new Error('the client went away'));

/**
 * Aborts when the response closes before it was sent, i.e. the client went away: a parked
 * long-poll then ends at once. A response that was sent closes too, and aborts nothing.
 */
export function clientGoneSignal(response: ServerResponse): AbortSignal {
  const gone = new AbortController();
  if (response.destroyed && !response.writableFinished) gone.abort(CLIENT_GONE);
  else response.once('close', () => response.writableFinished || gone.abort(CLIENT_GONE));
  return gone.signal;
}
