import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The environment the local stack's services get (deploy/local/services.sh): deploy/local/local.env
 * with the current environment winning. Used only for the project-specific parts (replay, database
 * activity), never for the Client-Server API measurements.
 */
export async function projectEnv(projectRoot: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  try {
    const text = await readFile(path.join(projectRoot, 'deploy/local/local.env'), 'utf8');
    for (const line of text.split('\n')) {
      if (/^\s*(#|$)/.test(line)) continue;
      const eq = line.indexOf('=');
      if (eq > 0) env[line.slice(0, eq).trim()] = line.slice(eq + 1);
    }
  } catch {
    // no local.env: the environment alone
  }
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && (key in env || key.startsWith('MX_'))) env[key] = value;
  return env;
}

export async function projectPgUrl(projectRoot: string): Promise<string> {
  const env = await projectEnv(projectRoot);
  const user = encodeURIComponent(env['MX_DATABASE_USER'] ?? 'matrix');
  const password = encodeURIComponent(env['MX_DATABASE_PASSWORD'] ?? '');
  const host = env['MX_DATABASE_HOST'] ?? '127.0.0.1';
  const port = env['MX_DATABASE_PORT'] ?? '5432';
  const name = env['MX_DATABASE_NAME'] ?? 'matrix';
  return `postgres://${user}:${password}@${host}:${port}/${name}`;
}
