/** What a benchmark scenario is, and what it hands back for bench/results/<scenario>.json. */
import type { Progress } from './support/progress';
import type { BenchPostgres } from './support/postgres';
import { spreadOf } from './support/stats';

export interface ScenarioContext {
  readonly quick: boolean;
  readonly postgres: BenchPostgres;
  readonly progress: Progress;
}

/** A design target: the figure must be at least (or below) the value. */
export interface Target {
  readonly op: '>=' | '<' | '<=';
  readonly value: number;
}

export interface Figure {
  /** Stable key, e.g. `commands_per_second`. */
  readonly name: string;
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: Target;
  /** When the value is the median of repeated windows: the lowest and highest of them, and how many. */
  readonly spread?: { readonly min: number; readonly max: number; readonly count: number };
}

export interface ScenarioOutcome {
  readonly parameters: Record<string, unknown>;
  readonly figures: Figure[];
  /** What a reader needs to read the figures right (how it was measured, what was checked). */
  readonly notes?: string[];
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  run(context: ScenarioContext): Promise<ScenarioOutcome>;
}

export const meets = (figure: Figure): boolean | null => {
  const { target } = figure;
  if (!target) return null;
  if (target.op === '>=') return figure.value >= target.value;
  if (target.op === '<') return figure.value < target.value;
  return figure.value <= target.value;
};

/** A figure that is the median of repeated measurements, carrying their spread. */
export function medianFigure(figure: Omit<Figure, 'value' | 'spread'>, values: readonly number[], digits = 0): Figure {
  const { min, median, max, count } = spreadOf(values);
  const round = (value: number): number => Number(value.toFixed(digits));
  return {
    ...figure,
    value: round(median),
    spread: { min: round(min), max: round(max), count },
  };
}
