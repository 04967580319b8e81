import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Options } from './options.js';

/**
 * The pid file of deploy/local/postgres.sh's cluster: `$MX_PG_DIR`, else `$MX_LOCAL_DIR/postgres`, else
 * `/var/tmp/mx-postgres-<sha256(MX_LOCAL_DIR)[0,12]>` (where postgres.sh puts it when its OS user
 * cannot reach the checkout); the first that exists.
 */
export function postgresPidFile(local: string, env: NodeJS.ProcessEnv, exists: (file: string) => boolean = existsSync): string {
  const candidates = [
    ...(env['MX_PG_DIR'] ? [env['MX_PG_DIR']] : []),
    path.join(local, 'postgres'),
    `/var/tmp/mx-postgres-${createHash('sha256').update(path.resolve(local)).digest('hex').slice(0, 12)}`,
  ].map((dir) => path.join(dir, 'data', 'postmaster.pid'));
  return candidates.find((file) => exists(file)) ?? candidates[0]!;
}

/**
 * Server processes to watch when none were given (a `+` before the file: CPU of the process and its
 * children). project: the local stack's three services. companion: deploy/local/companion.sh's
 * processes (the three services, its Synapse, the router's nginx with its worker, Kafka, PostgreSQL
 * with its backends). synapse: the local Synapse and PostgreSQL with its backends.
 */
export function defaultPids(options: Pick<Options, 'pids' | 'target' | 'projectRoot'>, env: NodeJS.ProcessEnv): Map<string, string> {
  if (options.pids.size) return new Map(options.pids);
  const local = env['MX_LOCAL_DIR'] ?? path.join(options.projectRoot, '.local');
  const synapse = path.join(env['MX_SYNAPSE_DIR'] ?? path.join(local, 'synapse'), 'synapse.pid');
  const services = ['writer', 'projector', 'sync-api'].map((name): [string, string] => [name, path.join(local, 'run', `${name}.pid`)]);
  if (options.target === 'project') return new Map(services);
  if (options.target === 'companion')
    return new Map([
      ...services,
      ['synapse', synapse],
      ['router', `+${path.join(local, 'nginx', 'nginx.pid')}`],
      ['kafka', path.join(local, 'kafka', 'kafka.pid')],
      ['postgres', `+${postgresPidFile(local, env)}`],
    ]);
  if (options.target === 'synapse')
    return new Map([
      ['synapse', synapse],
      ['postgres', `+${postgresPidFile(local, env)}`],
    ]);
  return new Map();
}
