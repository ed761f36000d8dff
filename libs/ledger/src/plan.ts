import { z } from 'zod';
import { creditsOrZero, fen, identifier, instant, label } from './fields';

/** One priced action: what a run of it needs from the plan, and the least it may reserve. */
export const rateCardEntry = z.object({
  action: identifier,
  capabilityBand: identifier,
  minimumCost: creditsOrZero,
});

/** What a subscription sells: its bands, its rate card, its included credits and its CNY terms. */
export const planTerms = z.object({
  planId: identifier,
  name: label,
  includedCredits: creditsOrZero,
  capabilityBands: z.array(identifier).min(1),
  rateCard: z.array(rateCardEntry).min(1),
  creditPriceFen: fen,
  settlementThresholdFen: fen,
});

export const period = z.object({ start: instant, end: instant });

export type RateCardEntry = z.output<typeof rateCardEntry>;
export type PlanTerms = z.output<typeof planTerms>;
export type Period = z.output<typeof period>;

/** Cross-field checks a schema cannot express; returns why the terms are inconsistent, if they are. */
export function planTermsProblem(plan: PlanTerms): string | undefined {
  const bands = new Set(plan.capabilityBands);
  const seen = new Set<string>();
  for (const entry of plan.rateCard) {
    if (!bands.has(entry.capabilityBand)) {
      return `rate card action "${entry.action}" is in band "${entry.capabilityBand}", which the plan does not allow`;
    }
    if (seen.has(entry.action)) return `rate card lists action "${entry.action}" twice`;
    seen.add(entry.action);
  }
  return undefined;
}

export const periodIsValid = (p: Period): boolean => p.end > p.start;
