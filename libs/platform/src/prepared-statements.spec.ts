import { CompiledQuery, type Kysely } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { createKysely, createPool } from './database';
import { preparedName, preparedStatement } from './prepared-statements';

let database: TestDatabase;
let db: Kysely<Record<string, never>>;

beforeAll(async () => {
  database = await createTestDatabase();
  // One connection: every statement below runs on the same session, whose prepared ones we list.
  db = createKysely(createPool(database.url, { max: 1 }));
});

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

async function preparedOnSession(): Promise<Array<{ name: string; statement: string }>> {
  const { rows } = await db.executeQuery<{ name: string; statement: string }>(
    CompiledQuery.raw('SELECT name, statement FROM pg_prepared_statements ORDER BY name'),
  );
  return rows;
}

test('a marked statement is prepared once on the connection and answers as the text would', async () => {
  const text = 'SELECT $1::int + $2::int AS sum';
  const marked = preparedStatement(text);
  expect(marked).not.toBe(text);
  expect(marked.endsWith(text)).toBe(true);
  expect(preparedStatement(text)).toBe(marked);

  for (const [a, b] of [
    [1, 2],
    [40, 2],
    [-5, 5],
  ] as const) {
    const { rows } = await db.executeQuery<{ sum: number }>(CompiledQuery.raw(marked, [a, b]));
    expect(rows).toEqual([{ sum: a + b }]);
  }
  const prepared = (await preparedOnSession()).filter((row) => row.name === preparedName(marked));
  expect(prepared).toHaveLength(1);
  expect(prepared[0]?.statement).toBe(marked);
});

test('statements that are not marked go out unprepared, and two texts never share a name', async () => {
  const before = (await preparedOnSession()).length;
  await db.executeQuery(CompiledQuery.raw('SELECT $1::text AS plain', ['x']));
  expect((await preparedOnSession()).length).toBe(before);

  const one = preparedStatement('SELECT 1 AS n');
  const other = preparedStatement('SELECT 2 AS n');
  expect(preparedName(one)).not.toBe(preparedName(other));
  expect((await db.executeQuery<{ n: number }>(CompiledQuery.raw(one))).rows).toEqual([{ n: 1 }]);
  expect((await db.executeQuery<{ n: number }>(CompiledQuery.raw(other))).rows).toEqual([{ n: 2 }]);
  expect((await preparedOnSession()).length).toBe(before + 2);
});

test('text that only resembles the marker is sent as it is', async () => {
  expect(preparedName('/* prepared as nothing')).toBeUndefined();
  expect(preparedName('SELECT 1')).toBeUndefined();
  const { rows } = await db.executeQuery<{ n: number }>(CompiledQuery.raw('/* prepared as x */ SELECT 3 AS n'));
  expect(rows).toEqual([{ n: 3 }]);
});
