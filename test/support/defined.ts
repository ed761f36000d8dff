/**
 * The value, which the test needs to be there: a missing one fails the test here, saying what was
 * missing, instead of as a TypeError further on (the suite compiles with noUncheckedIndexedAccess).
 */
export function defined<T>(value: T | undefined, what = 'the value'): T {
  if (value === undefined) throw new Error(`expected ${what} to be there`);
  return value;
}
