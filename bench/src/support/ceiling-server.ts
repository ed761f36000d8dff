/**
 * The machine's ceiling for the HTTP scenarios: a plain node:http server, in a process of its own
 * as the API is, that reads a JSON POST's body, parses it and answers a small JSON object. What the
 * load generator reaches against it, with the same client and connections, is as many requests per
 * second as this machine serves over HTTP from Node before any ledger work: the API's rate read
 * against it says how much of the gap is the ledger and how much is the machine.
 *
 * Started by startCeilingServer (services.ts); speaks the services' IPC messages (ready, stop).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const send = (message: { type: 'ready'; url: string } | { type: 'stopped' }): void => void process.send?.(message);

const server = http.createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    let status = 200;
    let answer = '{"ok":true}';
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text) JSON.parse(text);
    } catch {
      status = 400;
      answer = '{"code":"invalid_json"}';
    }
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': answer.length });
    response.end(answer);
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  send({ type: 'ready', url: `http://127.0.0.1:${port}` });
});

process.on('message', (message: { type?: string }) => {
  if (message.type === 'stop') {
    server.closeAllConnections();
    server.close(() => {
      send({ type: 'stopped' });
      process.exit(0);
    });
  }
});
// The parent going away must not leave the server running.
process.on('disconnect', () => process.exit(0));
