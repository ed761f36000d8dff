/**
 * One file of the pages' bundle, sent with what lets a browser revalidate it for free: an ETag and
 * Last-Modified from the file's size and time (the validators Express's sendFile made), and a 304
 * when the copy the browser holds is current — the pages are `no-cache`, so it asks every time.
 */
import type { FastifyReply } from 'fastify';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';

/** Whether the browser's copy is current: If-None-Match decides when sent, else If-Modified-Since. */
function isFresh(headers: IncomingHttpHeaders, etag: string, modified: Date): boolean {
  const noneMatch = headers['if-none-match'];
  if (noneMatch !== undefined) {
    const weak = (tag: string) => tag.trim().replace(/^W\//, '');
    return noneMatch.trim() === '*' || noneMatch.split(',').some((tag) => weak(tag) === weak(etag));
  }
  const since = Date.parse(headers['if-modified-since'] ?? '');
  return !Number.isNaN(since) && Math.floor(modified.getTime() / 1000) * 1000 <= since;
}

export async function sendAsset(reply: FastifyReply, location: string, type: string): Promise<void> {
  const file = await stat(location);
  const etag = `W/"${file.size.toString(16)}-${file.mtime.getTime().toString(16)}"`;
  reply
    .header('Content-Type', type)
    .header('Cache-Control', 'no-cache')
    .header('ETag', etag)
    .header('Last-Modified', file.mtime.toUTCString());
  if (isFresh(reply.request.headers, etag, file.mtime)) {
    await reply.code(304).send();
    return;
  }
  // Awaited: the reply settles when the file has been sent, so the handler does not end first.
  await reply.header('Content-Length', file.size).send(createReadStream(location));
}
