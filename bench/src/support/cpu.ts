/**
 * CPU time spent by the processes a benchmark drives, read from /proc (Linux), so that a figure can
 * say what a unit of work cost and not only how many went by: on a shared 2-core machine the rate
 * moves with whatever else runs, the CPU time per command much less.
 *
 * - A process (the API, the ceiling server): its utime + stime, every thread included.
 * - The Postgres cluster: the postmaster's own utime + stime, plus its cutime + cstime (the time of
 *   children it has already reaped: backends of closed connections), plus utime + stime of every
 *   child still alive (backends, the checkpointer, the WAL writer, autovacuum...), found by walking
 *   /proc/<pid>/stat for a parent pid equal to the postmaster's. A backend alive at the start of a
 *   window and reaped before its end is counted live at the start and in cutime at the end, so
 *   the difference is what it spent inside the window.
 * - The load generator (this process): process.cpuUsage(); the cluster's processes are not its
 *   children in the rusage sense (process.cpuUsage() counts this process only).
 *
 * Only deltas over a measured window mean anything; see `CpuMeter`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

/** The fields of /proc/<pid>/stat the benchmarks read; times in clock ticks. */
export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly ppid: number;
  readonly utime: number;
  readonly stime: number;
  readonly cutime: number;
  readonly cstime: number;
}

/**
 * Parses one /proc/<pid>/stat line. The command name is in parentheses and may itself hold spaces
 * or parentheses, so the fields are counted from the last `)`: after it come state (field 3), ppid
 * (4), ... utime (14), stime (15), cutime (16), cstime (17).
 */
export function parseProcStat(line: string): ProcStat | null {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = line
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const field = (n: number): number => Number(rest[n - 3]);
  const stat = {
    pid: Number(line.slice(0, open).trim()),
    comm: line.slice(open + 1, close),
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
  };
  return [stat.pid, stat.ppid, stat.utime, stat.stime, stat.cutime, stat.cstime].every(Number.isFinite) ? stat : null;
}

/** /proc/<pid>/stat, or null when the process is gone (or this is no Linux). */
export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK`: the unit of /proc's times (100 on every Linux in practice). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

const ticksToUs = (ticks: number): number => (ticks * 1_000_000) / clockTicksPerSecond();

/** A process's own CPU time so far (µs), or null when it cannot be read. */
export function processCpuUs(pid: number): number | null {
  const stat = readProcStat(pid);
  return stat ? ticksToUs(stat.utime + stat.stime) : null;
}

/** Every process's stat line, read in one synchronous pass (nothing else of ours runs meanwhile). */
function allProcStats(): ProcStat[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const stats: ProcStat[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat) stats.push(stat);
  }
  return stats;
}

/** The cluster's CPU time so far (µs): see the file's comment. Null when the postmaster is gone. */
export function clusterCpuUs(postmasterPid: number): number | null {
  const stats = allProcStats();
  const postmaster = stats.find((stat) => stat.pid === postmasterPid);
  if (!postmaster) return null;
  let ticks = postmaster.utime + postmaster.stime + postmaster.cutime + postmaster.cstime;
  for (const stat of stats) if (stat.ppid === postmasterPid) ticks += stat.utime + stat.stime;
  return ticksToUs(ticks);
}

/**
 * The postmaster of the server behind `url`: the parent of the backend serving a connection of
 * ours. Null when that backend is not a process of this machine's /proc (a remote server, another
 * container): the Postgres part of a figure is then unknown, and said so.
 */
export async function findPostmasterPid(url: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = rows[0] ? readProcStat(rows[0].pid) : null;
    if (!backend || !backend.comm.startsWith('postgres')) return null;
    const postmaster = readProcStat(backend.ppid);
    return postmaster && postmaster.comm.startsWith('postgres') ? postmaster.pid : null;
  } finally {
    await client.end();
  }
}

/** Busy and total CPU time of the whole machine so far (µs, all cores), from /proc/stat. */
export function machineCpuUs(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal (guest times are already in user).
    const parts = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (parts.length < 8 || !parts.every(Number.isFinite)) return null;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = parts as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const busy = user + nice + system + irq + softirq + steal;
    return { busy: ticksToUs(busy), total: ticksToUs(busy + idle + iowait) };
  } catch {
    return null;
  }
}

/** What a window cost: µs of CPU per part, and the window's length. */
export interface CpuWindow {
  readonly wallMs: number;
  /** This process (the load generator), user + system. */
  readonly loadGeneratorUs: number;
  /** Per named process (the API, the ceiling server), null when it could not be read. */
  readonly processesUs: Record<string, number | null>;
  /** The Postgres cluster, null when its processes are not visible here. */
  readonly postgresUs: number | null;
  /** Every core of the machine: busy time, and the time of every process not counted above. */
  readonly machineBusyUs: number | null;
  readonly machineTotalUs: number | null;
}

interface Reading {
  readonly at: number;
  readonly self: NodeJS.CpuUsage;
  readonly processes: Record<string, number | null>;
  readonly postgres: number | null;
  readonly machine: { busy: number; total: number } | null;
}

/**
 * Reads every counter at once (synchronously: no request of ours is answered in between) at the
 * start and the end of a window; `stop()` gives the deltas.
 */
export class CpuMeter {
  constructor(
    private readonly processes: Record<string, number>,
    private readonly postmasterPid: number | null,
  ) {}

  private read(): Reading {
    const processes: Record<string, number | null> = {};
    for (const [name, pid] of Object.entries(this.processes)) processes[name] = processCpuUs(pid);
    return {
      at: performance.now(),
      self: process.cpuUsage(),
      processes,
      postgres: this.postmasterPid === null ? null : clusterCpuUs(this.postmasterPid),
      machine: machineCpuUs(),
    };
  }

  /** Starts a window; the returned function ends it and gives what it cost. */
  start(): { readonly startedAt: number; stop(): CpuWindow & { readonly endedAt: number } } {
    const before = this.read();
    return {
      startedAt: before.at,
      stop: () => {
        const after = this.read();
        const self = process.cpuUsage(before.self);
        const delta = (a: number | null | undefined, b: number | null | undefined): number | null =>
          a === null || a === undefined || b === null || b === undefined ? null : Math.max(0, b - a);
        const processesUs: Record<string, number | null> = {};
        for (const name of Object.keys(this.processes)) {
          processesUs[name] = delta(before.processes[name], after.processes[name]);
        }
        return {
          endedAt: after.at,
          wallMs: after.at - before.at,
          loadGeneratorUs: self.user + self.system,
          processesUs,
          postgresUs: delta(before.postgres, after.postgres),
          machineBusyUs: delta(before.machine?.busy, after.machine?.busy),
          machineTotalUs: delta(before.machine?.total, after.machine?.total),
        };
      },
    };
  }
}
