import { describe, expect, it } from 'vitest';
import { rows, type Sql } from '@mx/storage';

/** `rows` gives a statement's rows whatever shape TypeORM answers with. */
describe('rows', () => {
  const answering = (result: unknown): Sql => ({ query: () => Promise.resolve(result) });

  it('passes a SELECT’s rows through', async () => {
    expect(await rows(answering([{ a: 1 }, { a: 2 }]), 'SELECT')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(await rows(answering([]), 'SELECT')).toEqual([]);
  });

  it('unwraps the [rows, affected] TypeORM answers a bare UPDATE or DELETE … RETURNING with', async () => {
    expect(await rows(answering([[{ user_id: '@a:hs' }], 1]), 'UPDATE … RETURNING')).toEqual([{ user_id: '@a:hs' }]);
    expect(await rows(answering([[], 0]), 'DELETE … RETURNING')).toEqual([]);
  });
});
