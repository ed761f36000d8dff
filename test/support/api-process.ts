/**
 * The API in a process of its own, for tests that must kill it (SIGKILL) the way an operator or the
 * kernel would. It runs from the TypeScript sources through bench/register.cjs (no build step) on
 * the given database, with the tests' keys, and says its URL over the IPC channel.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TEST_KEYS } from './ledger-api';
import { waitUntil } from './wait';

export interface ApiProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Kills it at once (SIGKILL) and waits until it is gone. */
  kill(): Promise<void>;
}

const REGISTER = path.resolve(__dirname, '../../bench/register.cjs');
const CHILD = path.resolve(__dirname, 'api-child.ts');

export async function startApiProcess(databaseUrl: string): Promise<ApiProcess> {
  const child = fork(CHILD, [databaseUrl], {
    execArgv: ['-r', REGISTER],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, API_KEYS: JSON.stringify(TEST_KEYS), LEDGER_DEMO: 'off', EVENT_STORE: 'postgres' },
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { url?: string }) =>
      message.url ? resolve(message.url) : reject(new Error('no url')),
    );
    child.once('exit', (code) => reject(new Error(`the API process exited (${code}) before it listened`)));
  });
  return {
    url,
    child,
    async kill() {
      child.kill('SIGKILL');
      await waitUntil(() => exited, 'the killed API process to be gone');
    },
  };
}
