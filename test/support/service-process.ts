import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One service (from dist/) running as a real child process, its output in a log file. */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

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
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
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

  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const exitCode = this.child?.exitCode ?? null;
      if (exitCode !== null) throw new Error(`${this.name} exited with ${exitCode} during start-up; see ${this.logFile}`);
      try {
        const response = await fetch(`${this.url}/health/ready`);
        if (response.ok) return;
      } catch {
        // not listening yet
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
