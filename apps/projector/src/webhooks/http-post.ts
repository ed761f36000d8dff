/**
 * One webhook POST, bounded every way a receiver could stretch it: one deadline for connecting,
 * sending and answering; at most a snippet of the answer read; no redirects followed (a 3xx is not
 * a delivery); and, unless internal targets are allowed, no connection to an internal address —
 * checked on the address actually connected to, after DNS.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { MAX_RESPONSE_SNIPPET_LENGTH } from '@ledger/contract';
import { isInternalHost, publicOnlyLookup } from '@ledger/platform';

export interface PostOutcome {
  /** The receiver's status, or null when it gave none (refused, timed out, reset, refused target). */
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly latencyMs: number;
  readonly responseSnippet: string | null;
}

export interface PostOptions {
  readonly timeoutMs: number;
  readonly allowInternalTargets: boolean;
}

/** The answer's first characters, printable: control characters would reach the log's readers. */
export function snippetOf(bytes: Buffer): string {
  return (
    bytes
      .toString('utf8')
      .slice(0, MAX_RESPONSE_SNIPPET_LENGTH)
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
  );
}

const describe = (error: unknown): string => {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
};

export function postWebhook(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  { timeoutMs, allowInternalTargets }: PostOptions,
): Promise<PostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const target = new URL(url);
  if (!allowInternalTargets && isInternalHost(target.hostname)) {
    return Promise.resolve({
      statusCode: null,
      error: `refused: ${target.hostname} is an internal address (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)`,
      latencyMs: 0,
      responseSnippet: null,
    });
  }
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const received: Buffer[] = [];
    let size = 0;
    const finish = (outcome: Omit<PostOutcome, 'latencyMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve({ ...outcome, latencyMs: elapsed() });
    };
    const request = transport.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // A new connection per delivery: no socket of one endpoint is shared with another's.
        agent: false,
        ...(allowInternalTargets ? {} : { lookup: publicOnlyLookup }),
      },
      (response) => {
        const answered = (): void =>
          finish({
            statusCode: response.statusCode ?? null,
            error: null,
            responseSnippet: size > 0 ? snippetOf(Buffer.concat(received)) : null,
          });
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_RESPONSE_SNIPPET_LENGTH * 4) {
            received.push(chunk);
            size += chunk.length;
          }
          // Enough to show; the rest of a long answer is not waited for.
          if (size >= MAX_RESPONSE_SNIPPET_LENGTH * 4) answered();
        });
        response.on('end', answered);
        response.on('error', answered);
      },
    );
    const timer = setTimeout(
      () => finish({ statusCode: null, error: `timed out after ${timeoutMs} ms`, responseSnippet: null }),
      timeoutMs,
    );
    request.on('error', (error) => finish({ statusCode: null, error: describe(error), responseSnippet: null }));
    request.end(body);
  });
}
