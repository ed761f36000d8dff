/**
 * Fastify's own refusals get the answers body-parser's got, whether the filter sees them as Fastify
 * raised them or as Nest hands them on (a bare HttpException of their status and message).
 */
import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { errorCodes, type FastifyError } from 'fastify';
import { toLedgerError } from '../src/errors/error.filter';

const asNestHandsItOn = (error: FastifyError) => new HttpException(error.message, error.statusCode ?? 500);

const answerTo = (error: unknown) => [toLedgerError(error)?.status, toLedgerError(error)?.body.code];

it.each([
  ['a malformed percent-escape', 400, 'validation_failed', new errorCodes.FST_ERR_BAD_URL('/v1/%E0')],
  [
    'a content type without a parser',
    415,
    'unsupported_media_type',
    new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('text/plain'),
  ],
  ['a body over the limit', 413, 'payload_too_large', new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE()],
  ['a length that does not match', 400, 'body_unreadable', new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH()],
  ['an empty JSON body', 400, 'malformed_json', new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY()],
])('%s is %d %s', (_name, status, code, error) => {
  expect(answerTo(error)).toEqual([status, code]);
});

// Only its status survives Nest's wrapping (a bad URL never takes that way: the edge answers it).
it.each([
  [
    'a content type without a parser',
    415,
    'unsupported_media_type',
    new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('text/plain'),
  ],
  ['a body over the limit', 413, 'payload_too_large', new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE()],
  ['a length that does not match', 400, 'body_unreadable', new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH()],
])('%s, as Nest hands it on, is %d %s', (_name, status, code, error) => {
  expect(answerTo(asNestHandsItOn(error))).toEqual([status, code]);
});

it('keeps Nest’s own answers: a SyntaxError is malformed JSON, an unknown route is route_not_found', () => {
  expect(toLedgerError(new BadRequestException('Unexpected token'))?.body.code).toBe('malformed_json');
  expect(toLedgerError(new NotFoundException('Cannot GET /x'))?.body.code).toBe('route_not_found');
});

it('leaves a fault of ours to be a 500', () => {
  expect(toLedgerError(new TypeError('x is undefined'))).toBeUndefined();
});
