import { readFile } from 'node:fs/promises';
import os from 'node:os';

/** Server processes found through pid files: resident memory and CPU time from /proc (Linux). */
export interface ProcessRef {
  readonly name: string;
  readonly pidFile: string;
  readonly pid: number | undefined;
}

export async function resolvePids(pids: ReadonlyMap<string, string>): Promise<ProcessRef[]> {
  return Promise.all(
    [...pids].map(async ([name, pidFile]) => {
      try {
        const pid = Number((await readFile(pidFile, 'utf8')).trim().split(/\s+/)[0]);
        return { name, pidFile, pid: Number.isInteger(pid) && pid > 0 ? pid : undefined };
      } catch {
        return { name, pidFile, pid: undefined };
      }
    }),
  );
}

/** VmRSS in bytes (the kernel's "kB" are KiB), or undefined when the process is gone. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** VmRSS in MiB, or undefined when the process is gone. */
export async function rssMiB(pid: number): Promise<number | undefined> {
  const bytes = await rssBytes(pid);
  return bytes === undefined ? undefined : bytes / 1024 / 1024;
}

/** User + system CPU seconds the process has used so far. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds of each process over a piece of work, plus the harness's own. */
export class CpuMeter {
  private readonly before = new Map<string, number>();
  private harnessBefore = process.cpuUsage();
  private started = performance.now();

  constructor(private readonly processes: readonly ProcessRef[]) {}

  async start(): Promise<void> {
    this.harnessBefore = process.cpuUsage();
    this.started = performance.now();
    for (const ref of this.processes) {
      const seconds = ref.pid === undefined ? undefined : await cpuSeconds(ref.pid);
      if (seconds !== undefined) this.before.set(ref.name, seconds);
    }
  }

  /** Per process: CPU seconds used and the average share of one core. */
  async stop(): Promise<Record<string, { cpuSeconds: number; coreShare: number }>> {
    const wall = (performance.now() - this.started) / 1000;
    const harness = process.cpuUsage(this.harnessBefore);
    const harnessSeconds = (harness.user + harness.system) / 1e6;
    const result: Record<string, { cpuSeconds: number; coreShare: number }> = {
      harness: { cpuSeconds: round2(harnessSeconds), coreShare: round2(harnessSeconds / wall) },
    };
    for (const ref of this.processes) {
      const after = ref.pid === undefined ? undefined : await cpuSeconds(ref.pid);
      const before = this.before.get(ref.name);
      if (after !== undefined && before !== undefined)
        result[ref.name] = { cpuSeconds: round2(after - before), coreShare: round2((after - before) / wall) };
    }
    return result;
  }
}

const round2 = (value: number) => Math.round(value * 100) / 100;

export async function openFileLimit(): Promise<number | undefined> {
  try {
    const limits = await readFile('/proc/self/limits', 'utf8');
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    return match?.[1] === 'unlimited' ? Infinity : match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly loadAverageAtStart: number[];
  readonly note: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((load) => Math.round(load * 100) / 100),
    note: 'The load generator (this harness) and the server share this machine and its cores; figures include that contention.',
  };
}
