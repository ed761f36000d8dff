/**
 * The load generator's HTTP client: node:http over one keep-alive agent, so every request reuses a
 * connection as a service's client would, and the time measured is the request, not a handshake.
 */
import http from 'node:http';
import { now } from './stats';

export interface HttpAnswer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are read by the scenario that asked
  readonly body: any;
  /** Milliseconds from sending to the last byte of the answer. */
  readonly ms: number;
}

/** One command of a `POST /v1/commands/batch` request: the single route's path parameters, body and key. */
export interface BatchCommand {
  readonly type: string;
  readonly params: Record<string, string | undefined>;
  readonly body: unknown;
  readonly idempotencyKey: string;
}

/** The batch endpoint's answer for one command, in request order. */
export interface BatchResult {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a receipt or a rejection, read by the scenario
  readonly body: any;
}

export const BATCH_PATH = '/v1/commands/batch';

export class BenchClient {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    connections: number,
  ) {
    this.base = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  command(path: string, body: unknown, idempotencyKey: string): Promise<HttpAnswer> {
    return this.request('POST', path, JSON.stringify(body), { 'idempotency-key': idempotencyKey });
  }

  /** Many commands in one request; `results` is the answer's list when it is one (HTTP 200). */
  async batch(commands: readonly BatchCommand[]): Promise<HttpAnswer & { readonly results: BatchResult[] | null }> {
    const answer = await this.request('POST', BATCH_PATH, JSON.stringify({ commands }));
    const results: unknown = answer.status === 200 ? answer.body?.results : null;
    return { ...answer, results: Array.isArray(results) ? (results as BatchResult[]) : null };
  }

  /**
   * Whether the API has the batch endpoint: one command for an account that does not exist (it is
   * refused on its own, nothing is stored), and a 404 for the whole request means no endpoint.
   */
  async hasBatchEndpoint(): Promise<boolean> {
    const answer = await this.batch([
      {
        type: 'GrantCredits',
        params: { accountId: 'bench-probe-no-such-account' },
        body: { grantId: 'probe', source: 'top_up', amount: '1' },
        idempotencyKey: 'bench-probe',
      },
    ]);
    if (answer.status === 404) return false;
    if (!answer.results) throw new Error(`${BATCH_PATH} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return true;
  }

  get(path: string): Promise<HttpAnswer> {
    return this.request('GET', path);
  }

  request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    const started = now();
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.apiKey}`,
            ...(body === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
            ...headers,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              // Not JSON: the scenario sees the text.
            }
            resolve({ status: response.statusCode ?? 0, body: parsed, ms: now() - started });
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
