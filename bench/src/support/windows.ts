/**
 * Measuring on a shared machine: alternatives measured side by side in one run, in short windows
 * interleaved and repeated (ABAB..., the order flipped every round so neither always follows the
 * other), each window's work counted against the CPU time it cost.
 */
import type { CpuWindow } from './cpu';
import { round } from './stats';

/** Runs every kind once per round, in order on even rounds and reversed on odd ones. */
export async function interleave<K extends string, R>(
  kinds: readonly K[],
  rounds: number,
  run: (kind: K, round: number) => Promise<R>,
): Promise<Record<K, R[]>> {
  const results = Object.fromEntries(kinds.map((kind) => [kind, [] as R[]])) as Record<K, R[]>;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) results[kind].push(await run(kind, r));
  }
  return results;
}

/** What one window cost per unit of work (µs of CPU), by part; null where a part was not readable. */
export interface WindowCost {
  readonly units: number;
  /** The server side: the named processes plus Postgres when `withPostgres`. */
  readonly serverUs: number | null;
  readonly processesUs: Record<string, number | null>;
  readonly postgresUs: number | null;
  readonly loadGeneratorUs: number;
  /** Share of the machine's CPU time (all cores) spent in processes other than the ones above. */
  readonly othersShare: number | null;
}

/**
 * `units` of work answered in a window, against what it cost. `serverProcesses` name the meter's
 * processes that serve the work (the API processes, or the ceiling server).
 */
export function costOf(
  cpu: CpuWindow | null,
  units: number,
  serverProcesses: readonly string[],
  withPostgres: boolean,
): WindowCost {
  const per = (us: number | null): number | null => (us === null || units === 0 ? null : Math.round(us / units));
  if (!cpu) {
    return { units, serverUs: null, processesUs: {}, postgresUs: null, loadGeneratorUs: 0, othersShare: null };
  }
  const served = serverProcesses.map((name) => cpu.processesUs[name] ?? null);
  const serverParts = withPostgres ? [...served, cpu.postgresUs] : served;
  const server = serverParts.some((part) => part === null)
    ? null
    : serverParts.reduce<number>((sum, part) => sum + (part ?? 0), 0);
  const counted =
    cpu.loadGeneratorUs +
    Object.values(cpu.processesUs).reduce<number>((sum, us) => sum + (us ?? 0), 0) +
    (cpu.postgresUs ?? 0);
  const othersShare =
    cpu.machineBusyUs === null || !cpu.machineTotalUs
      ? null
      : round(Math.max(0, cpu.machineBusyUs - counted) / cpu.machineTotalUs, 3);
  return {
    units,
    serverUs: per(server),
    processesUs: Object.fromEntries(Object.entries(cpu.processesUs).map(([name, us]) => [name, per(us)])),
    postgresUs: per(cpu.postgresUs),
    loadGeneratorUs: per(cpu.loadGeneratorUs) ?? 0,
    othersShare,
  };
}

/** The values of a part over the windows, leaving out the ones that could not be read. */
export const known = (values: readonly (number | null)[]): number[] =>
  values.filter((value): value is number => value !== null);
