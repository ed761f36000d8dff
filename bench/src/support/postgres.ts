/**
 * The benchmarks' Postgres: the embedded one the product ships with, started once per run in a
 * throwaway directory (or an outside server given by --database-url / BENCH_DATABASE_URL). Each
 * scenario, and the peer, gets a fresh database on it, dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '@ledger/platform';

export interface BenchPostgres {
  /** The server's maintenance database: where databases are created. */
  readonly serverUrl: string;
  createDatabase(label: string): Promise<BenchDatabase>;
  stop(): Promise<void>;
}

export interface BenchDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

async function admin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function openBenchPostgres(outsideUrl?: string): Promise<BenchPostgres> {
  let serverUrl = outsideUrl;
  let stopServer = async (): Promise<void> => undefined;
  if (!serverUrl) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ledger-bench-'));
    const postgres = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
    serverUrl = postgres.url;
    stopServer = async () => {
      await postgres.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  const server = serverUrl;
  return {
    serverUrl: server,
    async createDatabase(label) {
      const name = `bench_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomUUID().slice(0, 8)}`;
      await admin(server, (client) => client.query(`CREATE DATABASE ${name}`));
      const url = new URL(server);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        name,
        drop: () => admin(server, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(),
      };
    },
    stop: () => stopServer(),
  };
}
