/**
 * A real HTTP receiver of webhooks in the test process: it verifies every delivery's signature
 * with the client library, as a service would, and answers as each test tells it (200, 500, hang).
 */
import { SIGNATURE_HEADER, verifyWebhook } from '@ledger/client';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly path: string;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
  /** Whether the signature verified under the path's secret, at the moment it arrived. */
  readonly verified: boolean;
}

/** How the receiver answers the nth request (from 1) to a path: a status, or 'hang' to never answer. */
export type Behaviour = (n: number) => number | 'hang';

export interface Receiver {
  readonly port: number;
  url(path: string): string;
  /** Each path's secret and behaviour; unknown paths answer 404. */
  route(path: string, secret: string, behaviour: Behaviour): void;
  received(path?: string): Received[];
  /** Requests being held open (hanging). */
  hanging(path?: string): number;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const routes = new Map<string, { secret: string; behaviour: Behaviour }>();
  const received: Received[] = [];
  const held: Array<{ path: string; response: http.ServerResponse }> = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      const body = Buffer.concat(chunks).toString('utf8');
      const route = routes.get(path);
      const header = request.headers[SIGNATURE_HEADER.toLowerCase()];
      const verified =
        route !== undefined &&
        verifyWebhook({
          body,
          header: typeof header === 'string' ? header : undefined,
          secrets: route.secret,
          now: new Date(),
        }).ok;
      received.push({ path, body, headers: request.headers, verified });
      if (!route) {
        response.writeHead(404).end('no such receiver');
        return;
      }
      const answer = route.behaviour(received.filter((r) => r.path === path).length);
      if (answer === 'hang') {
        held.push({ path, response });
        return;
      }
      response.writeHead(answer, { 'content-type': 'text/plain' }).end(`answered ${answer}\u0007\u001b[31m`);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: (path) => `http://127.0.0.1:${actual}${path}`,
    route: (path, secret, behaviour) => routes.set(path, { secret, behaviour }),
    received: (path) => received.filter((r) => path === undefined || r.path === path),
    hanging: (path) => held.filter((h) => (path === undefined || h.path === path) && !h.response.closed).length,
    async close() {
      for (const { response } of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
