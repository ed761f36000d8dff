/**
 * The projector's processes as they run in production: compiled with tsc (into a directory of
 * their own under dist/, so node finds node_modules), started as child processes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { GENEROUS_DEADLINE_MS } from '../../../../test/support/wait';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const TSCONFIG = 'apps/projector/tsconfig.app.json';

export interface Build {
  readonly dir: string;
  script(name: 'main' | 'rebuild-cli'): string;
  remove(): Promise<void>;
}

export async function buildWorkers(): Promise<Build> {
  const dir = path.join(ROOT, 'dist', 'test-builds', randomUUID());
  const run = promisify(execFile);
  const bin = (name: string): string => path.join(ROOT, 'node_modules', '.bin', name);
  await run(bin('tsc'), ['-p', TSCONFIG, '--outDir', dir], { cwd: ROOT });
  await run(bin('tsc-alias'), ['-p', TSCONFIG, '--outDir', dir], { cwd: ROOT });
  return {
    dir,
    script: (name) => path.join(dir, 'apps', 'projector', 'src', `${name}.js`),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface Worker {
  readonly process: ChildProcess;
  /** Everything it wrote, stdout and stderr. */
  output(): string;
  /** Resolves once a line containing `text` has been written. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startWorker(script: string, args: string[], env: NodeJS.ProcessEnv): Worker {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = new Set<{ text: string; resolve: () => void }>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const waiter of waiters) {
      if (output.includes(waiter.text)) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    process: child,
    output: () => output,
    exited,
    waitFor(text, timeoutMs = GENEROUS_DEADLINE_MS) {
      if (output.includes(text)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms:\n${output}`)), timeoutMs);
        const waiter = {
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.add(waiter);
        void exited.then(() => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(new Error(`the worker exited before writing "${text}":\n${output}`));
        });
      });
    },
  };
}
