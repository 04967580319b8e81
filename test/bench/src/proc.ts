import { readFile } from 'node:fs/promises';
import os from 'node:os';

/** Server processes found through pid files: resident memory and CPU time from /proc (Linux). */
export interface ProcessRef {
  readonly name: string;
  readonly pidFile: string;
  readonly pid: number | undefined;
  /**
   * CPU of the process and its children (nginx's master and its worker, PostgreSQL's postmaster and
   * its backends), not of the process alone. RSS is always the process's own.
   */
  readonly tree: boolean;
}

/**
 * A pid file as given to --pid (`name=pidfile`): a leading `+` on the file (`name=+pidfile`) asks for
 * the CPU of the process and its children.
 */
export function parsePidFile(spec: string): { pidFile: string; tree: boolean } {
  return spec.startsWith('+') ? { pidFile: spec.slice(1), tree: true } : { pidFile: spec, tree: false };
}

export async function resolvePids(pids: ReadonlyMap<string, string>): Promise<ProcessRef[]> {
  return Promise.all(
    [...pids].map(async ([name, spec]) => {
      const { pidFile, tree } = parsePidFile(spec);
      try {
        const pid = Number((await readFile(pidFile, 'utf8')).trim().split(/\s+/)[0]);
        return { name, pidFile, tree, pid: Number.isInteger(pid) && pid > 0 ? pid : undefined };
      } catch {
        return { name, pidFile, tree, pid: undefined };
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

/**
 * CPU ticks of a /proc/<pid>/stat line: user + system, and with `reaped` also the children the
 * process has waited for (cutime + cstime). After the command name (which may hold spaces and
 * parentheses, hence the last ')'): state is field 3, utime 14, stime 15, cutime 16, cstime 17
 * (1-based in proc(5)).
 */
export function statTicks(stat: string, reaped: boolean): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
  return Number.isFinite(ticks) ? ticks : undefined;
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((child) => Number.isInteger(child) && child > 0);
  } catch {
    return [];
  }
}

/**
 * User + system CPU seconds the process has used so far; with `tree`, plus its children's (those
 * alive, one level, and those it reaped). A child that exits between two readings moves its time into
 * the parent's reaped count, so the total never goes backwards for a well-behaved parent.
 */
export async function cpuSeconds(pid: number, tree = false): Promise<number | undefined> {
  try {
    const own = statTicks(await readFile(`/proc/${pid}/stat`, 'utf8'), tree);
    if (own === undefined) return undefined;
    let ticks = own;
    if (tree)
      for (const child of await childrenOf(pid)) {
        try {
          ticks += statTicks(await readFile(`/proc/${child}/stat`, 'utf8'), true) ?? 0;
        } catch {
          // gone in between: its time is in the parent's reaped count
        }
      }
    return ticks / 100;
  } catch {
    return undefined;
  }
}

/**
 * Busy and total CPU ticks of the whole machine from /proc/stat's `cpu` line (user nice system idle
 * iowait irq softirq steal ...): busy = everything but idle and iowait; guest time is already in user.
 */
export function procStatTicks(text: string): { busy: number; total: number } | undefined {
  const line = text.split('\n').find((each) => each.startsWith('cpu '));
  if (!line) return undefined;
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (values.length < 5 || values.some((value) => !Number.isFinite(value))) return undefined;
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: total - values[3]! - values[4]!, total };
}

async function machineTicks(): Promise<{ busy: number; total: number } | undefined> {
  try {
    return procStatTicks(await readFile('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of each process over a piece of work, plus the harness's own and the whole machine's
 * (`machine`: every process on it, so the share left for `other` processes shows a busy machine).
 */
export class CpuMeter {
  private readonly before = new Map<string, number>();
  private harnessBefore = process.cpuUsage();
  private machineBefore: { busy: number; total: number } | undefined;
  private started = performance.now();

  constructor(private readonly processes: readonly ProcessRef[]) {}

  async start(): Promise<void> {
    this.harnessBefore = process.cpuUsage();
    this.machineBefore = await machineTicks();
    this.started = performance.now();
    for (const ref of this.processes) {
      const seconds = ref.pid === undefined ? undefined : await cpuSeconds(ref.pid, ref.tree);
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
      const after = ref.pid === undefined ? undefined : await cpuSeconds(ref.pid, ref.tree);
      const before = this.before.get(ref.name);
      if (after !== undefined && before !== undefined)
        result[ref.name] = { cpuSeconds: round2(after - before), coreShare: round2((after - before) / wall) };
    }
    const machineAfter = await machineTicks();
    if (machineAfter && this.machineBefore) {
      // USER_HZ is 100 on Linux: ticks / 100 = seconds.
      const busy = (machineAfter.busy - this.machineBefore.busy) / 100;
      const counted = Object.values(result).reduce((sum, each) => sum + each.cpuSeconds, 0);
      result['machine'] = { cpuSeconds: round2(busy), coreShare: round2(busy / wall) };
      result['other'] = { cpuSeconds: round2(Math.max(0, busy - counted)), coreShare: round2(Math.max(0, busy - counted) / wall) };
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
