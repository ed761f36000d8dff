/** Latency samples and their summary: benchmark timings are plain numbers (ms), never money. */

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** The nearest-rank percentile of ascending samples; 0 when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  const total = list.reduce((sum, value) => sum + value, 0);
  return {
    count: list.length,
    p50: round(percentile(list, 50)),
    p99: round(percentile(list, 99)),
    max: round(list.at(-1) ?? 0),
    mean: round(list.length ? total / list.length : 0),
  };
}

/** Milliseconds with microsecond resolution are plenty; more digits are noise in a report. */
export const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

export const perSecond = (count: number, ms: number): number => (ms > 0 ? Math.round((count * 1000) / ms) : 0);

/** A monotonic clock in milliseconds. */
export const now = (): number => performance.now();

/** Repeated measurements of one figure: what a single number hides on a noisy machine. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly count: number;
}

export function spreadOf(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length === 0
      ? 0
      : sorted.length % 2 === 1
        ? sorted[middle]!
        : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return { min: sorted[0] ?? 0, median, max: sorted.at(-1) ?? 0, count: sorted.length };
}
