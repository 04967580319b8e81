import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, inject } from 'vitest';
import { extraService } from '../support/accounts.js';
import { PORT_OFFSETS } from '../support/ports.js';

/**
 * README, Configuration: "Environment variables, validated at start-up (a bad value prints every
 * problem and exits 78)". Each service's real entry point (and the projector's replay command)
 * is started with three bad variables; it must exit 78 (EX_CONFIG) and list all three.
 */
const root = join(import.meta.dirname, '..', '..');
/** The ports the services would listen on if they started anyway (they must not). */
const PORTS = {
  writer: PORT_OFFSETS.claimsBadConfig.writer,
  projector: PORT_OFFSETS.claimsBadConfig.projector,
  'sync-api': PORT_OFFSETS.claimsBadConfig.syncApi,
  replay: PORT_OFFSETS.claimsBadConfig.replay,
  // The operator CLI listens on nothing; the variable is set only for symmetry.
  ops: PORT_OFFSETS.claimsBadConfig.replay,
} as const;

const BAD = { MX_LOG_LEVEL: 'loud', MX_TOPIC_PARTITIONS: '0', MX_REGISTRATION_MODE: 'sometimes' };

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs an entry point to its exit; a process still running after 60 s is killed (and the test fails on its code). */
function runToExit(entry: string, args: string[], env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--enable-source-maps', join(root, entry), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('claim: bad configuration exits 78 with the list of problems (services, replay and the operator CLI)', () => {
  const stack = inject('stack');
  const cases = [
    { name: 'writer', entry: 'dist/apps/writer/src/main.js', args: [] },
    { name: 'projector', entry: 'dist/apps/projector/src/main.js', args: [] },
    { name: 'sync-api', entry: 'dist/apps/sync-api/src/main.js', args: [] },
    { name: 'replay', entry: 'dist/apps/projector/src/replay/main.js', args: ['verify'] },
    { name: 'ops', entry: 'dist/apps/ops/src/main.js', args: ['migrate'] },
  ] as const;

  it.each(cases)(
    '$name exits 78 and prints every bad variable',
    async ({ name, entry, args }) => {
      const env = { ...stack.env, MX_HTTP_PORT: String(stack.portBase + PORTS[name]), ...BAD };
      const exit = await runToExit(entry, [...args], env);
      const shown = `exit ${exit.code} (${exit.signal})\nstderr:\n${exit.stderr}\nstdout:\n${exit.stdout}`;
      expect(exit.code, shown).toBe(78);
      expect(exit.stderr, shown).toMatch(/^Invalid configuration:$/m);
      // One line per problem, naming the variable and the value it got.
      expect(exit.stderr, shown).toMatch(/^ {2}- MX_LOG_LEVEL: .+ \(got "loud"\)$/m);
      expect(exit.stderr, shown).toMatch(/^ {2}- MX_TOPIC_PARTITIONS: .+ \(got 0\)$/m);
      expect(exit.stderr, shown).toMatch(/^ {2}- MX_REGISTRATION_MODE: .+ \(got "sometimes"\)$/m);
      expect(exit.stderr.match(/^ {2}- /gm), shown).toHaveLength(3);
      // Refused before anything started: not a single log line.
      expect(exit.stdout, shown).toBe('');
    },
    90_000,
  );

  it('control: the same writer with good variables starts, and exits 0 on SIGTERM', async () => {
    // The refusal above comes from the variables, not from the way the process is run.
    const writer = extraService('writer', 'writer-claims-good-config', PORTS.writer);
    writer.start();
    try {
      await writer.waitReady();
    } finally {
      expect(await writer.stop()).toBe(0);
    }
  }, 90_000);
});
