/** UTC calendar days as the daily figures name them: 'YYYY-MM-DD', compared as strings. */
import { MAX_DAILY_SPAN_DAYS } from '@ledger/contract';

export { MAX_DAILY_SPAN_DAYS };

const DAY_MS = 24 * 60 * 60 * 1000;

export const utcDay = (instant: Date): string => instant.toISOString().slice(0, 10);

const dayNumber = (day: string): number => Date.parse(`${day}T00:00:00.000Z`) / DAY_MS;

export const addDays = (day: string, days: number): string => utcDay(new Date((dayNumber(day) + days) * DAY_MS));

/** How many days from `from` to `to`, both counted. */
export const spanOf = (from: string, to: string): number => dayNumber(to) - dayNumber(from) + 1;

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let n = dayNumber(from); n <= dayNumber(to); n++) days.push(utcDay(new Date(n * DAY_MS)));
  return days;
}
