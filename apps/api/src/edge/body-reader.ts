/**
 * Reads a request body into memory, bounded: at most `limit` bytes after decompression (so a small
 * gzip bomb is refused as soon as it inflates past the limit), and a declared Content-Length over
 * the limit is refused before a byte is read. Each refusal is a typed 4xx.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { reject } from '@ledger/domain';
import { LedgerHttpError } from '../errors/ledger-http-error';

const tooLarge = () => new LedgerHttpError(reject('payload_too_large'));
const unreadable = () => new LedgerHttpError(reject('body_unreadable'));

/** The decompressor for a Content-Encoding; identity is none. The four body-parser read. */
function decompressor(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'identity':
      return undefined;
    case 'gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
  }
  throw new LedgerHttpError(reject('unsupported_media_type', `unsupported content encoding "${encoding}"`));
}

export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const inflate = decompressor((request.headers['content-encoding'] || 'identity').toLowerCase());
  if (!inflate && Number(request.headers['content-length']) > limit) throw tooLarge();
  const source: Readable = inflate ? request.pipe(inflate) : request;

  return new Promise((resolve, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (refusal?: LedgerHttpError) => {
      if (settled) return;
      settled = true;
      if (inflate) {
        request.unpipe(inflate);
        inflate.destroy();
      }
      // Whatever is left is read off and dropped, so the answer goes out on a connection that
      // stays usable (as body-parser did), instead of one stuck with unread bytes.
      request.resume();
      if (refusal) fail(refusal);
      else resolve(Buffer.concat(chunks, size));
    };
    source.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) finish(tooLarge());
      else chunks.push(chunk);
    });
    source.on('end', () => finish());
    // Not what its Content-Encoding says, or the client went away: the body cannot be read.
    source.on('error', () => finish(unreadable()));
    if (inflate) request.on('error', () => finish(unreadable()));
    // Cut short: the connection closed before the body's end (a complete request has ended first).
    request.on('close', () => {
      if (!request.complete) finish(unreadable());
    });
  });
}
