import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Seeded setups (users with their access tokens, rooms) are remembered per server and parameters in
 * the state directory (git-ignored), because registering thousands of users is the slowest part of a
 * run (password hashing). A remembered setup is used only if its tokens still work.
 */
export function setupKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

export async function loadSetup<T>(stateDir: string, kind: string, key: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path.join(stateDir, `${kind}-${key}.json`), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function saveSetup(stateDir: string, kind: string, key: string, value: unknown): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const file = path.join(stateDir, `${kind}-${key}.json`);
  await writeFile(`${file}.tmp`, JSON.stringify(value), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
