/** Where a figure was measured: a benchmark result means little without the machine behind it. */
import os from 'node:os';
import pg from 'pg';

export interface Environment {
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly os: string;
    readonly arch: string;
  };
  readonly node: string;
  readonly postgres: string;
}

export async function describeEnvironment(databaseUrl: string): Promise<Environment> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return {
      machine: {
        cpus: os.availableParallelism(),
        cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
        memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        os: `${os.type()} ${os.release()}`,
        arch: os.arch(),
      },
      node: process.version,
      postgres: rows[0]?.server_version ?? 'unknown',
    };
  } finally {
    await client.end();
  }
}
