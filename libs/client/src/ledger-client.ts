/** A small HTTP client for the ledger API, for the CLI, the demo and the end-to-end tests. */

/** A decoded JSON body whose shape the caller asserts on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are checked by the callers' expectations
export type JsonBody = Record<string, any>;

export interface LedgerResponse<T = JsonBody> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/** One command of a batch: its type, its route's path parameters, its body and its own key. */
export interface BatchedCommand {
  readonly type: string;
  readonly params?: Record<string, string>;
  readonly body?: unknown;
  readonly idempotencyKey: string;
  readonly correlationId?: string;
  readonly causationId?: string;
}

export class LedgerClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  /** POSTs a command; `idempotencyKey: null` sends none (to see the API refuse it). */
  command<T = JsonBody>(
    path: string,
    body: unknown,
    idempotencyKey: string | null,
    headers: Record<string, string> = {},
  ): Promise<LedgerResponse<T>> {
    return this.request<T>('POST', path, {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: idempotencyKey === null ? headers : { 'idempotency-key': idempotencyKey, ...headers },
    });
  }

  /** POSTs many commands in one request (POST /v1/commands/batch); each is answered on its own. */
  commandBatch<T = JsonBody>(commands: readonly BatchedCommand[]): Promise<LedgerResponse<T>> {
    return this.request<T>('POST', '/v1/commands/batch', { body: JSON.stringify({ commands }) });
  }

  get<T = JsonBody>(path: string): Promise<LedgerResponse<T>> {
    return this.request<T>('GET', path, {});
  }

  async request<T>(
    method: string,
    path: string,
    options: { body?: string; headers?: Record<string, string> },
  ): Promise<LedgerResponse<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      body: options.body,
      headers: {
        'content-type': 'application/json',
        ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        ...options.headers,
      },
    });
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('json');
    const body = json ? JSON.parse(text) : text || {};
    return { status: response.status, body: body as T, headers: response.headers };
  }
}
