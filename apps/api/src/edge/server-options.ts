/**
 * Fastify's server options: where its defaults differ from what the API did on Express and Node,
 * the API's behaviour is kept (each option says which).
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyServerOptions } from 'fastify';

export function serverOptions(frameworkErrors: FastifyServerOptions['frameworkErrors']): FastifyServerOptions {
  return {
    // Every request's id, sent back as X-Request-Id and named by a 500's log line.
    genReqId: () => randomUUID(),
    // Fastify refuses a parameter longer than 100 characters as an unknown route (404). An id may
    // be 128 characters, percent-encoded several times that: every parameter reaches the path
    // guard, which answers a bad one 400 as before. (No URL is longer than Node's 16 kB head.)
    maxParamLength: 16 * 1024,
    // Express's router: "/v1/me/" is "/v1/me", and paths match in any letter case (parameters
    // keep theirs).
    ignoreTrailingSlash: true,
    caseSensitive: false,
    // Node's defaults, which Fastify changes: a request must arrive within 5 minutes (a slow body
    // cannot hold a connection for ever), an idle keep-alive connection closes after 5 s.
    requestTimeout: 300_000,
    keepAliveTimeout: 5_000,
    // While closing, a request on a still-open connection is answered as usual (with
    // Connection: close) rather than with Fastify's own 503 body, which is not a ledger answer.
    return503OnClosing: false,
    frameworkErrors,
    clientErrorHandler: answerUnparsable,
  };
}

/** Node's own answers to a request it cannot parse, each ending the connection. */
const UNPARSABLE: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
};

/**
 * What Node answers a request it cannot parse (as the API did on Express): Fastify's own answer
 * lacks Connection: close, so a client may send its next request on the connection it then drops.
 * Like Node, it writes nothing into a response already under way on the connection (Node's
 * `_httpMessage`: the response in flight), which the bytes would corrupt.
 */
function answerUnparsable(error: Error & { code?: string }, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.write(UNPARSABLE[error.code ?? ''] ?? 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  }
  socket.destroy(error);
}
