/** The tests' answer check itself: a drifted answer is refused, a true one passes, errors are shaped. */
import { checkAnswer, ContractViolation } from './contract-check';

const json = new Headers({ 'content-type': 'application/json; charset=utf-8' });
const answer = (status: number, body: unknown, headers = json) => ({ status, body, headers });

const me = { principal: 'dash', role: 'dashboard', accounts: '*' };

it('passes an answer of the route’s schema', () => {
  expect(() => checkAnswer('GET', '/v1/me', answer(200, me))).not.toThrow();
  expect(() =>
    checkAnswer('GET', '/v1/accounts/acme/usage.csv?kind=grant', answer(200, 'eventId\n', new Headers())),
  ).not.toThrow();
});

it('refuses a renamed, added or retyped field', () => {
  const { principal, ...rest } = me;
  expect(() => checkAnswer('GET', '/v1/me', answer(200, { ...rest, principalId: principal }))).toThrow(
    ContractViolation,
  );
  expect(() => checkAnswer('GET', '/v1/me', answer(200, { ...me, extra: 1 }))).toThrow(ContractViolation);
  const buckets = { included: '1', bonus: '0', available: '1', reserved: '0', consumed: '0', hold: '0', expired: '0' };
  const quote = { estimatedCost: 1, available: '1', availableAfter: '0', creditPriceFen: '1', estimatedValueFen: '1' };
  expect(() => checkAnswer('POST', '/v1/accounts/acme/runs/preview', answer(200, quote))).toThrow(/estimatedCost/);
  expect(() =>
    checkAnswer('GET', '/v1/audit/accounts/acme/balance', answer(200, { accountId: 'acme', events: 0, buckets })),
  ).toThrow(ContractViolation);
});

it('wants every error as { code, message, details } and every JSON route in the contract', () => {
  expect(() =>
    checkAnswer('GET', '/v1/nowhere', answer(404, { code: 'route_not_found', message: 'no', details: {} })),
  ).not.toThrow();
  expect(() => checkAnswer('GET', '/v1/me', answer(401, { error: 'no' }))).toThrow(ContractViolation);
  expect(() => checkAnswer('GET', '/v1/unknown-read', answer(200, {}))).toThrow(/no route of the contract/);
  expect(() => checkAnswer('GET', '/docs', answer(200, {}))).not.toThrow();
});
