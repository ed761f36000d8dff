/** What the edge, the guards and the command path read off a Fastify request. */
import type { FastifyRequest } from 'fastify';

/** The URL's path, without its query string, as the client sent it (not decoded). */
export const pathOf = (url: string): string => {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
};

/**
 * The route a request is for: the pattern the router matched (`/v1/accounts/:accountId/grants`),
 * or, when none matched, the path as sent. The pattern is what the handler will run, however the
 * path was spelled (percent-escapes, letter case, a trailing slash), so checks keyed on it cannot
 * be stepped around by another spelling of the same route.
 */
export const routeOf = (request: FastifyRequest): string => request.routeOptions.url ?? pathOf(request.url);

/** One header's value; Node joins repeats into one string, so an array is a header we do not read. */
export const headerOf = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
};
