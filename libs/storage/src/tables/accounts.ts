import { rows, type Sql } from '../sql.js';

/**
 * `accounts`: Local accounts: user ID and password hash (the writer registers and logs in).
 * Every statement on this table lives in this file (schema: ../migrations).
 */

const UNIQUE_VIOLATION = '23505';

/** Whether an account with this user ID exists. */
export async function exists(sql: Sql, userId: string): Promise<boolean> {
  return (await rows<unknown>(sql, 'SELECT 1 FROM accounts WHERE user_id = $1', [userId])).length > 0;
}

/** The account's password hash; undefined when there is no such account, or it has no password. */
export async function passwordHashOf(sql: Sql, userId: string): Promise<string | undefined> {
  const found = await rows<{ password_hash: string | null }>(sql, 'SELECT password_hash FROM accounts WHERE user_id = $1', [userId]);
  return found[0]?.password_hash ?? undefined;
}

/**
 * Creates an account (`passwordHash` null: no password login). False when the user ID is taken; in
 * a transaction, that statement's failure aborts it: the caller must end it (throw).
 */
export async function create(sql: Sql, account: { userId: string; passwordHash: string | null; createdTs: number }): Promise<boolean> {
  try {
    await sql.query('INSERT INTO accounts (user_id, password_hash, created_ts) VALUES ($1, $2, $3)', [
      account.userId,
      account.passwordHash,
      account.createdTs,
    ]);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) return false;
    throw error;
  }
}
