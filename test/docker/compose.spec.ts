/**
 * docker/compose.yml describes the production topology: EventStoreDB, Postgres, the API and the
 * projector, each with a health check, the ledger wired to EventStoreDB. (CI also runs
 * `docker-compose config` on it when docker-compose is available; no container runs here.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

// js-yaml comes with the toolchain (eslint, jest); it is only a test's parser here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load(text: string): unknown };

interface Service {
  image?: string;
  ports?: string[];
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: unknown; disable?: boolean };
}

const root = path.resolve(__dirname, '../..');
const compose = yaml.load(readFileSync(path.join(root, 'docker/compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};
const { services } = compose;

it('starts EventStoreDB (the official image), Postgres, the API and the projector', () => {
  expect(Object.keys(services).sort()).toEqual(['api', 'eventstoredb', 'postgres', 'projector']);
  expect(services.eventstoredb?.image).toMatch(/^eventstore\/eventstore:/);
  expect(services.postgres?.image).toMatch(/^postgres:/);
});

it('checks the health of the stores and the API, and starts the ledger once they are healthy', () => {
  for (const name of ['eventstoredb', 'postgres', 'api']) expect(services[name]?.healthcheck?.test).toBeDefined();
  for (const name of ['api', 'projector']) {
    expect(services[name]?.depends_on).toMatchObject({
      eventstoredb: { condition: 'service_healthy' },
      postgres: { condition: 'service_healthy' },
    });
  }
});

it('points the API and the projector at EventStoreDB for events and Postgres for the rest', () => {
  for (const name of ['api', 'projector']) {
    expect(services[name]?.environment).toMatchObject({
      EVENT_STORE: 'eventstoredb',
      EVENTSTORE_CONNECTION_STRING: 'esdb://eventstoredb:2113?tls=false',
      DATABASE_URL: expect.stringMatching(/^postgres:\/\/.+@postgres:5432\//),
    });
  }
  expect(services.projector?.command).toEqual(['node', 'dist/apps/projector/src/main.js']);
});

it('builds one image, multi-stage, running as a non-root user with production dependencies only', () => {
  expect(services.api?.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
  const dockerfile = readFileSync(path.join(root, 'docker/Dockerfile'), 'utf8');
  expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
  expect(dockerfile).toMatch(/npm ci --omit=dev/);
  expect(dockerfile).toMatch(/^USER node$/m);
  for (const built of ['dist/apps/api/src/main.js', 'dist/apps/projector/src/main.js']) {
    expect(readFileSync(path.join(root, 'docker/compose.yml'), 'utf8') + dockerfile).toContain(built);
  }
});

it('requires API keys, publishes no store, and the API on this machine only by default', () => {
  for (const name of ['api', 'projector']) {
    expect(services[name]?.environment?.API_KEYS).toMatch(/^\$\{API_KEYS:\?.+\}$/);
    expect(services[name]?.environment?.NODE_ENV).toBe('production');
  }
  expect(services.eventstoredb?.ports).toBeUndefined();
  expect(services.postgres?.ports).toBeUndefined();
  expect(services.projector?.ports).toBeUndefined();
  expect(services.api?.ports).toEqual(['${API_PUBLISH:-127.0.0.1}:3000:3000']);
});
