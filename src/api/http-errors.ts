/**
 * The API's one table of error codes and HTTP statuses, and the `{error: {code, message}}` reply.
 * Every NftsentryError code has its status here; codes that only the HTTP layer produces (rate
 * limiting, body size, media type, unknown route) are added below them. Clients branch on `code`.
 */
import type { FastifyError } from 'fastify';
import { ErrorCodes, isNftsentryError, type ErrorCode } from '../errors.ts';

/** Codes only the HTTP layer produces. */
export const ApiOnlyCodes = {
  RATE_LIMITED: 'E_RATE_LIMITED',
  BODY_TOO_LARGE: 'E_BODY_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'E_UNSUPPORTED_MEDIA_TYPE',
  ROUTE_NOT_FOUND: 'E_ROUTE_NOT_FOUND',
  NOT_READY: 'E_NOT_READY',
  /** A read-only token asked for a write. */
  READ_ONLY_TOKEN: 'E_READ_ONLY_TOKEN',
} as const;

export type ApiErrorCode = ErrorCode | (typeof ApiOnlyCodes)[keyof typeof ApiOnlyCodes];

export const HTTP_STATUS: Readonly<Record<ApiErrorCode, number>> = Object.freeze({
  [ErrorCodes.CONFIG_INVALID]: 500,
  [ErrorCodes.ADDRESS_INVALID]: 400,
  [ErrorCodes.DURATION_INVALID]: 400,
  [ErrorCodes.NFT_MISSING]: 503,
  [ErrorCodes.NFT_REJECTED]: 500,
  [ErrorCodes.NFT_NOT_FOUND]: 503,
  [ErrorCodes.NFT_EXISTS]: 500,
  [ErrorCodes.NFT_TIMEOUT]: 503,
  [ErrorCodes.NFT_FAILED]: 503,
  [ErrorCodes.NFT_CLOSED]: 503,
  [ErrorCodes.HOST_NETNS]: 500,
  [ErrorCodes.NETNS_FAILED]: 500,
  [ErrorCodes.OWN_ADDRESSES]: 500,
  [ErrorCodes.INPUT_BAD]: 400,
  [ErrorCodes.STORE_FAILED]: 503,
  [ErrorCodes.STORE_UNUSABLE]: 503,
  [ErrorCodes.BAN_REFUSED]: 409,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.CONFLICT]: 409,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.BAD_REQUEST]: 400,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.TOKEN_FILE_UNSAFE]: 500,
  [ErrorCodes.INTERNAL]: 500,
  [ApiOnlyCodes.RATE_LIMITED]: 429,
  [ApiOnlyCodes.BODY_TOO_LARGE]: 413,
  [ApiOnlyCodes.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ApiOnlyCodes.ROUTE_NOT_FOUND]: 404,
  [ApiOnlyCodes.NOT_READY]: 503,
  [ApiOnlyCodes.READ_ONLY_TOKEN]: 403,
});

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; details?: Record<string, unknown> };
}

export interface MappedError {
  status: number;
  body: ErrorBody;
  /** 5xx: log with the stack; the client sees a generic message. */
  internal: boolean;
}

/** An error raised by the HTTP layer itself, for codes outside ErrorCodes. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string>;

  constructor(
    code: ApiErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

function fromFastify(err: FastifyError): { code: ApiErrorCode; message: string } | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: ApiOnlyCodes.BODY_TOO_LARGE, message: 'request body too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: ApiOnlyCodes.UNSUPPORTED_MEDIA_TYPE, message: 'send the body as application/json' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: ErrorCodes.BAD_REQUEST, message: 'the body is not valid JSON' };
  }
  if (err instanceof SyntaxError) return { code: ErrorCodes.BAD_REQUEST, message: 'the body is not valid JSON' };
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { code: ErrorCodes.BAD_REQUEST, message: 'bad request' };
  }
  return null;
}

/** Any thrown value -> status and body. Messages of 5xx errors never reach the client. */
export function mapError(err: unknown): MappedError {
  let code: ApiErrorCode = ErrorCodes.INTERNAL;
  let message = 'internal error';
  let details: Record<string, unknown> | undefined;
  if (err instanceof ApiError || isNftsentryError(err)) {
    code = err.code;
    message = err.message;
    details = err.details;
  } else if (err && typeof err === 'object' && 'code' in err && typeof (err as FastifyError).code === 'string') {
    const f = fromFastify(err as FastifyError);
    if (f) ({ code, message } = f);
  }
  const status = HTTP_STATUS[code] ?? 500;
  // Not ready (503) is a state the daemon reports, not a failure to log.
  const internal = status >= 500 && code !== ApiOnlyCodes.NOT_READY;
  if (internal) {
    message = code === ErrorCodes.INTERNAL ? 'internal error' : `the operation failed (${code})`;
    details = undefined;
  }
  const body: ErrorBody = { error: { code, message, ...(details ? { details } : {}) } };
  return { status, body, internal };
}
