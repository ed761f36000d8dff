/**
 * Starts the API and the projector (see child.ts), and the ceiling server (ceiling-server.ts), as
 * child processes and talks to them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ChildMessage } from './child';
import { SERVICE_NODE_FLAGS } from '@ledger/platform';

export interface Service {
  readonly pid: number;
  readonly url: string | undefined;
  /** The command path's counters (API) and the process's resident memory. */
  stats(): Promise<Extract<ChildMessage, { type: 'stats' }>>;
  stop(): Promise<void>;
}

/** The projector's connections carry this name, so that their backends' CPU time can be told apart. */
export const PROJECTOR_APPLICATION_NAME = 'ledger-bench-projector';

const REGISTER = path.resolve(__dirname, '../../register.cjs');
const CHILD = path.resolve(__dirname, 'child.ts');
const CEILING = path.resolve(__dirname, 'ceiling-server.ts');
const START_TIMEOUT_MS = 60_000;

function waitFor<T extends ChildMessage['type']>(
  child: ChildProcess,
  type: T,
  timeoutMs: number,
): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`the ${type} message did not come in ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: ChildMessage): void => {
      if (message.type === type) finish(undefined, message as Extract<ChildMessage, { type: T }>);
    };
    const onExit = (code: number | null): void => finish(new Error(`the service exited (${code}) before ${type}`));
    function finish(error?: Error, message?: Extract<ChildMessage, { type: T }>): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message!);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function forkService(script: string, args: readonly string[]): ChildProcess {
  return fork(script, args, {
    // BENCH_CPU_PROFILE_DIR=<dir>: each service writes a V8 CPU profile there when it stops.
    execArgv: [
      ...SERVICE_NODE_FLAGS,
      '-r',
      REGISTER,
      ...(process.env.BENCH_CPU_PROFILE_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`]
        : []),
    ],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  let exited = child.exitCode !== null || child.signalCode !== null;
  child.once('exit', () => (exited = true));
  return async () => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.send({ type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(timer);
  };
}

export async function startService(role: 'api' | 'projector', databaseUrl: string): Promise<Service> {
  const child = forkService(CHILD, [role, databaseUrl]);
  const ready = await waitFor(child, 'ready', START_TIMEOUT_MS);
  return {
    pid: child.pid!,
    url: ready.url,
    async stats() {
      const answer = waitFor(child, 'stats', 10_000);
      child.send({ type: 'stats' });
      return answer;
    },
    stop: stopper(child),
  };
}

export interface CeilingServer {
  readonly pid: number;
  readonly url: string;
  stop(): Promise<void>;
}

/** The plain node:http server of ceiling-server.ts, in its own process. */
export async function startCeilingServer(): Promise<CeilingServer> {
  const child = forkService(CEILING, []);
  const ready = await waitFor(child, 'ready', START_TIMEOUT_MS);
  if (!ready.url) throw new Error('the ceiling server gave no address');
  return { pid: child.pid!, url: ready.url, stop: stopper(child) };
}
