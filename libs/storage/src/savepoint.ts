import type { Sql } from './sql.js';

/**
 * Runs `work` under a savepoint of the transaction `tx`: released when `work` resolves; when it
 * throws, the transaction is rolled back to the savepoint (what `work` did is undone, what came
 * before stays) and the error is rethrown, so the caller decides whether the transaction goes on.
 * Not reentrant: one savepoint at a time per transaction.
 */
export async function inSavepoint<T>(tx: Sql, work: () => Promise<T>): Promise<T> {
  await tx.query('SAVEPOINT mx_savepoint');
  let result: T;
  try {
    result = await work();
  } catch (error) {
    // A transaction that lost its connection cannot roll back either: the original error is the one that matters.
    await tx.query('ROLLBACK TO SAVEPOINT mx_savepoint').catch(() => undefined);
    throw error;
  }
  await tx.query('RELEASE SAVEPOINT mx_savepoint');
  return result;
}
