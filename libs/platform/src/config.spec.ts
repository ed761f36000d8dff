/** The EventStoreDB client settings, as the environment gives them. */
import { ConfigurationError, loadConfig } from './config';

it('leaves the client settings to the connection string or the defaults when unset', () => {
  expect(loadConfig({}).eventStoreDb).toEqual({
    deadlineMs: undefined,
    keepAliveIntervalMs: undefined,
    keepAliveTimeoutMs: undefined,
    resubscribeDelayMs: [100, 5000],
    appendAttempts: 3,
  });
});

it('reads the deadline, keepalive, resubscription pauses and append attempts', () => {
  expect(
    loadConfig({
      EVENTSTORE_DEADLINE_MS: '30000',
      EVENTSTORE_KEEPALIVE_MS: '-1',
      EVENTSTORE_KEEPALIVE_WAIT_MS: '20000',
      EVENTSTORE_RETRY_MIN_MS: '250',
      EVENTSTORE_RETRY_MAX_MS: '60000',
      EVENTSTORE_APPEND_ATTEMPTS: '1',
    }).eventStoreDb,
  ).toEqual({
    deadlineMs: 30_000,
    keepAliveIntervalMs: -1,
    keepAliveTimeoutMs: 20_000,
    resubscribeDelayMs: [250, 60_000],
    appendAttempts: 1,
  });
  // A first pause above the default longest one raises the longest with it.
  expect(loadConfig({ EVENTSTORE_RETRY_MIN_MS: '8000' }).eventStoreDb.resubscribeDelayMs).toEqual([8000, 8000]);
});

it.each([
  [{ EVENTSTORE_DEADLINE_MS: '0' }, /EVENTSTORE_DEADLINE_MS/],
  [{ EVENTSTORE_KEEPALIVE_WAIT_MS: 'soon' }, /EVENTSTORE_KEEPALIVE_WAIT_MS/],
  [{ EVENTSTORE_APPEND_ATTEMPTS: '0' }, /EVENTSTORE_APPEND_ATTEMPTS/],
  [{ EVENTSTORE_RETRY_MIN_MS: '500', EVENTSTORE_RETRY_MAX_MS: '100' }, /at least/],
  [
    {
      EVENTSTORE_CONNECTION_STRING: 'esdb://db:2113?tls=false&KeepAliveInterval=5000',
      EVENTSTORE_KEEPALIVE_MS: '1',
    },
    /keepAliveInterval both set it/,
  ],
])('refuses %j', (env, message) => {
  expect(() => loadConfig(env)).toThrow(ConfigurationError);
  expect(() => loadConfig(env)).toThrow(message);
});

it('reads the ports from the environment it is given, not from the process', () => {
  const saved = process.env.PORT;
  process.env.PORT = '4999';
  try {
    expect(loadConfig({ PORT: '8080', EMBEDDED_POSTGRES_PORT: '6000' })).toMatchObject({
      port: 8080,
      embeddedPostgresPort: 6000,
    });
    expect(loadConfig({}).port).toBe(3000);
  } finally {
    if (saved === undefined) delete process.env.PORT;
    else process.env.PORT = saved;
  }
  expect(() => loadConfig({ PORT: '70000' })).toThrow(ConfigurationError);
  expect(() => loadConfig({ LEDGER_GRANT_SCHEDULER_MS: 'often' })).toThrow(ConfigurationError);
});
