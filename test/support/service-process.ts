import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One service (from dist/) running as a real child process, its output in a log file. */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  /** Resolves once the child's output is all read (after it exited). */
  private closed: Promise<void> | undefined;
  /** The output line of the latest start that says its port was taken (EADDRINUSE), if one did. */
  private addressInUse: string | undefined;

  constructor(
    readonly name: string,
    private readonly entry: string,
    private readonly env: Readonly<Record<string, string>>,
    private readonly logFile: string,
    readonly url: string,
    /** Node's own options, before the entry point. */
    private readonly nodeOptions: readonly string[] = ['--enable-source-maps'],
  ) {}

  start(): void {
    mkdirSync(dirname(this.logFile), { recursive: true });
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, [...this.nodeOptions, this.entry], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    this.addressInUse = undefined;
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (chunk: Buffer) => {
        this.addressInUse ??= chunk
          .toString()
          .split('\n')
          .find((line) => line.includes('EADDRINUSE'))
          ?.trim()
          .slice(0, 300);
      });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    this.child = child;
    if (child.pid !== undefined) writeFileSync(this.pidFile, String(child.pid));
  }

  private get pidFile(): string {
    return `${this.logFile}.pid`;
  }

  /** Kills a process this service left behind in an earlier, interrupted run (it would hold the port). */
  killLeftover(): void {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidFile, 'utf8'));
    } catch {
      return;
    }
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (commandLine.includes(this.entry)) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(this.pidFile, { force: true });
  }

  /**
   * Waits until the process this object started answers `/health/ready` with 200. The answer must name its pid: a
   * port held by another process (another test file's service, a leftover) fails at once, loudly, instead of
   * passing for ours; so does a start-up that ends with EADDRINUSE.
   */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error(`${this.name} was not started (or could not be spawned); see ${this.logFile}`);
    while (Date.now() < deadline) {
      const exitCode = this.child?.exitCode ?? this.child?.signalCode ?? null;
      if (exitCode !== null) {
        // Its last words first (the output is read asynchronously), bounded: a grandchild could hold the pipes.
        await Promise.race([this.closed, new Promise((resolve) => setTimeout(resolve, 1000))]);
        throw new Error(
          this.addressInUse !== undefined
            ? `${this.name} could not listen on ${this.url}: ${this.addressInUse} (another process holds the port: do two test files share it? ` +
                `every offset belongs in test/support/ports.ts); see ${this.logFile}`
            : `${this.name} exited with ${exitCode} during start-up; see ${this.logFile}`,
        );
      }
      let answer: { ok: boolean; body: unknown } | undefined;
      try {
        const response = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
        answer = { ok: response.ok, body: response.ok ? await response.json().catch(() => undefined) : undefined };
      } catch {
        // not listening yet (or not answering within 5 s)
      }
      if (answer?.ok) {
        const answering = (answer.body as { pid?: unknown } | undefined)?.pid;
        if (answering === pid) return;
        throw new Error(
          `${this.name}: ${this.url}/health/ready is answered by ${typeof answering === 'number' ? `process ${answering}` : 'a process that does not say its pid'}, ` +
            `not by the one started here (pid ${pid}): another process holds the port (EADDRINUSE for ours; do two test files share it? ` +
            `every offset belongs in test/support/ports.ts); see ${this.logFile}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** SIGKILL: the process dies at once, wherever it is (mid-batch included). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null || !this.exited) return;
    child.kill('SIGKILL');
    await this.exited;
    rmSync(this.pidFile, { force: true });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || !this.exited) return child?.exitCode ?? null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    rmSync(this.pidFile, { force: true });
    return code;
  }
}
