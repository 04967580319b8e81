import { describe, expect, it } from 'vitest';
import { SharedUpstreamPolls } from '@mx/companion';

/** A poll the test answers by hand, recording whether it was aborted. */
function manualPoll() {
  const polls: { resolve: (value: string) => void; reject: (error: Error) => void; signal: AbortSignal }[] = [];
  const start = (signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      polls.push({ resolve, reject, signal });
    });
  return { polls, start };
}

describe('SharedUpstreamPolls', () => {
  const options = { maxEntries: 10, keepAnswerMs: 60_000 };

  it('lets the next request with the same key join a poll the previous one left running, and starts none then', async () => {
    const shared = new SharedUpstreamPolls<string>(options);
    const { polls, start } = manualPoll();
    const first = shared.join('k', start);
    expect(first.reused).toBe(false);
    first.release(false); // the project answered first: the poll stays
    const second = shared.join('k', start);
    expect(second.reused).toBe(true);
    expect(polls).toHaveLength(1);
    polls[0]!.resolve('answer');
    expect(await second.answer).toBe('answer');
    second.release(true); // used: the client's next since is newer
    const third = shared.join('k', start);
    expect(third.reused).toBe(false);
    expect(polls).toHaveLength(2);
  });

  it('keeps an answer that came while no request waited, for keepAnswerMs only', async () => {
    let now = 0;
    const shared = new SharedUpstreamPolls<string>({ ...options, now: () => now });
    const { polls, start } = manualPoll();
    shared.join('k', start).release(false);
    polls[0]!.resolve('kept');
    await Promise.resolve();
    now = 59_000;
    const joined = shared.join('k', start);
    expect([joined.reused, await joined.answer]).toEqual([true, 'kept']);
    joined.release(false);
    now = 120_001;
    expect(shared.join('k', start).reused).toBe(false);
  });

  it('never shares a failed poll', async () => {
    const shared = new SharedUpstreamPolls<string>(options);
    const { polls, start } = manualPoll();
    const first = shared.join('k', start);
    first.release(false);
    polls[0]!.reject(new Error('homeserver down'));
    await first.answer.catch(() => undefined);
    expect(shared.join('k', start).reused).toBe(false);
    expect(polls).toHaveLength(2);
  });

  it('keeps different keys (tokens, homeserver positions) apart', () => {
    const shared = new SharedUpstreamPolls<string>(options);
    const { polls, start } = manualPoll();
    shared.join('a', start).release(false);
    expect(shared.join('b', start).reused).toBe(false);
    expect(polls).toHaveLength(2);
  });

  it('beyond the bound aborts the least recently joined poll nobody waits on, never one a request waits on', () => {
    const shared = new SharedUpstreamPolls<string>({ ...options, maxEntries: 2 });
    const { polls, start } = manualPoll();
    const waiting = shared.join('waited-on', start); // not released: a request waits on it
    shared.join('detached-1', start).release(false);
    shared.join('detached-2', start).release(false);
    expect(shared.size).toBe(2);
    expect(polls.map((poll) => poll.signal.aborted)).toEqual([false, true, false]);
    shared.join('detached-3', start).release(false);
    expect(polls.map((poll) => poll.signal.aborted)).toEqual([false, true, true, false]);
    waiting.release(false);
  });
});
