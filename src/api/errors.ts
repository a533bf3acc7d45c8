// Maps every error to `{"error": {"code", "message"}}` with the right status; 5xx hide internals.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, httpStatus, isErrorCode, isRecognizerError, type ErrorCode } from '../errors.js';
import { SUPPORTED_TYPES } from '../vision/decode.js';
import { BusyError } from './admission.js';

/** Fastify's own codes, for requests refused before a handler runs, in the project's codes (src/errors.ts). */
const FASTIFY: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send image/jpeg, image/png or image/webp' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE', message: 'the body is larger than the configured limit' },
  FST_ERR_CTP_EMPTY_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'a Content-Type header is required' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST', message: 'Content-Length does not match the body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'BODY_INVALID', message: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'BODY_INVALID', message: 'the body is not valid JSON' },
};

/** Answers `code` with its status from the one table and the project's body. */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.status(httpStatus(code)).send(errorBody(code, message));
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof BusyError) reply.header('retry-after', String(err.retryAfterSeconds));
    // A status of 500 in the table is a failure of ours (a bad face model, a caller's bug): hidden below.
    if (isRecognizerError(err) && httpStatus(err.code) !== 500) return sendError(reply, err.code, err.message);
    const known = err.code ? FASTIFY[err.code] : undefined;
    if (known) return sendError(reply, known.code, err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? unsupportedType(request) : known.message);
    if (err.validation) return sendError(reply, 'BAD_REQUEST', err.message);
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    // fastify's own codes (FST_…), a JSON parser's SyntaxError or any library's are not ours to hand out: one vocabulary.
    if (status < 500) return reply.status(status).send(errorBody(isErrorCode(err.code) ? err.code : 'BAD_REQUEST', err.message));
    request.log.error({ err }, 'request failed');
    return reply.status(status).send(errorBody('INTERNAL', 'internal error'));
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 'NOT_FOUND', 'no such route'));
}

/**
 * Image routes (their schema `consumes` only images) refuse any other body before it is read: a
 * 20 MB JSON posted to /v1/recognize was parsed on the main thread before its 415 (issue 16).
 */
export function installImageOnly(app: FastifyInstance, bodyLimit: number): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!takesImages(request) || !hasBody(request)) return;
    if ((SUPPORTED_TYPES as readonly string[]).includes(mediaType(request))) return;
    await drain(request.raw, bodyLimit);
    return sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', unsupportedType(request));
  });
  // A body of a type no route takes is read to its end and dropped, then refused, as above.
  app.addContentTypeParser('*', (request, payload, done) => {
    void drain(payload, bodyLimit).then(() =>
      done(Object.assign(new Error('unsupported media type'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }), undefined),
    );
    void request;
  });
}

/**
 * Reads a refused body to its end, dropping it (never buffered, never parsed), up to `limit` bytes.
 * Answering with the body unread makes Node close the connection with data still in the kernel's
 * buffer, which then resets it: the client loses the answer (the chaos suite saw it, issue 16).
 * Past `limit`, or on a timeout, the connection is left to close.
 */
function drain(body: NodeJS.ReadableStream & { destroyed?: boolean; complete?: boolean }, limit: number): Promise<void> {
  if (body.complete) return Promise.resolve();
  return new Promise((resolve) => {
    let read = 0;
    const finish = () => {
      body.removeListener('data', count);
      resolve();
    };
    const count = (chunk: Buffer) => {
      read += chunk.length;
      if (read > limit) {
        body.pause();
        finish();
      }
    };
    body.on('data', count);
    body.once('end', finish);
    body.once('error', finish);
    body.once('close', finish);
    body.resume();
  });
}

function takesImages(request: FastifyRequest): boolean {
  const consumes = (request.routeOptions.schema as { consumes?: string[] } | undefined)?.consumes ?? [];
  return consumes.length > 0 && consumes.every((type) => type.startsWith('image/'));
}

function hasBody(request: FastifyRequest): boolean {
  return request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
}

/**
 * The 415 answer for a body that is not an image the decoder takes, or undefined when it is one.
 * fastify also parses JSON and text/plain for every route; the image routes take images only.
 */
export function refuseNonImage(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  if ((SUPPORTED_TYPES as readonly string[]).includes(mediaType(request))) return undefined;
  return sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', unsupportedType(request));
}

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * What to send instead, in the 415's message. A form upload (what a browser form or `curl -F` sends)
 * to an image route is the common mistake: the image goes as the whole body.
 */
function unsupportedType(request: FastifyRequest): string {
  if (!takesImages(request)) return 'send JSON (Content-Type application/json)';
  const send = `send the image's raw bytes as the whole body with Content-Type ${SUPPORTED_TYPES.slice(0, -1).join(', ')} or ${SUPPORTED_TYPES.at(-1)}`;
  if (mediaType(request) === 'multipart/form-data')
    return `a multipart form is not taken here: ${send} (curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' URL)`;
  return send;
}

/**
 * Answers what Node's HTTP parser refuses before fastify sees a request (a malformed request line,
 * headers too large, a request that timed out) in the project's vocabulary, not fastify's
 * `{"error": "Bad Request", "message": "Client Error"}`; fastify's `clientErrorHandler` option.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message]: [ErrorCode, string] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['REQUEST_TIMEOUT', 'the request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? ['HEADERS_TOO_LARGE', 'the request headers are too large']
        : ['BAD_REQUEST', 'a malformed HTTP request'];
  const status = httpStatus(code);
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable)
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}
