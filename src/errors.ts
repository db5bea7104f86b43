/**
 * One error base class with a stable `code`. Callers branch on `code`, never on message text.
 * The table below is the single list of codes; the HTTP API maps them to status codes.
 */
export const ErrorCodes = {
  /** The config file could not be read, parsed or validated. */
  CONFIG_INVALID: 'E_CONFIG_INVALID',
  /** An address, prefix or CIDR did not parse, or is not allowed where it was used. */
  ADDRESS_INVALID: 'E_ADDRESS_INVALID',
  /** A duration did not parse or is out of range. */
  DURATION_INVALID: 'E_DURATION_INVALID',
  /** nft is not installed or could not be started. */
  NFT_MISSING: 'E_NFT_MISSING',
  /** nft rejected the input (syntax or semantic error). */
  NFT_REJECTED: 'E_NFT_REJECTED',
  /** nft reported that an object does not exist (table, chain, set, element). */
  NFT_NOT_FOUND: 'E_NFT_NOT_FOUND',
  /** nft reported that an object already exists. */
  NFT_EXISTS: 'E_NFT_EXISTS',
  /** nft did not finish in time. */
  NFT_TIMEOUT: 'E_NFT_TIMEOUT',
  /** nft failed for another reason (permissions, kernel support). */
  NFT_FAILED: 'E_NFT_FAILED',
  /** nft was closed (the daemon is stopping): nothing new is started. */
  NFT_CLOSED: 'E_NFT_CLOSED',
  /** A test or the lab tried to run nft in the host's own network namespace. */
  HOST_NETNS: 'E_HOST_NETNS',
  /** A network namespace could not be created or used. */
  NETNS_FAILED: 'E_NETNS_FAILED',
  /** The gateway's own addresses could not be read (`ip -j addr show`). */
  OWN_ADDRESSES: 'E_OWN_ADDRESSES',
  /** A line of IDS output was refused (the reason says why). */
  INPUT_BAD: 'E_INPUT_BAD',
  /** The persistent store failed. */
  STORE_FAILED: 'E_STORE_FAILED',
  /** The store file is not a usable nftsentry database (corrupt, not SQLite, another schema). */
  STORE_UNUSABLE: 'E_STORE_UNUSABLE',
  /** An address may never be banned (allowlisted, own, loopback...). */
  BAN_REFUSED: 'E_BAN_REFUSED',
  /** The requested object does not exist. */
  NOT_FOUND: 'E_NOT_FOUND',
  /** The request conflicts with existing state. */
  CONFLICT: 'E_CONFLICT',
  /** Authentication is missing or wrong. */
  UNAUTHORIZED: 'E_UNAUTHORIZED',
  /** A request was malformed. */
  BAD_REQUEST: 'E_BAD_REQUEST',
  /** The operation is not allowed in the current state or configuration. */
  FORBIDDEN: 'E_FORBIDDEN',
  /**
   * The API token file may not be trusted: a symbolic link, not a regular file, owned by another
   * user, open to group or others, or in a directory others may write (`details.problem`).
   */
  TOKEN_FILE_UNSAFE: 'E_TOKEN_FILE_UNSAFE',
  /** Anything else: a bug. */
  INTERNAL: 'E_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface NftsentryErrorOptions {
  cause?: unknown;
  /** Structured details safe to log and to return to an API client. */
  details?: Record<string, unknown>;
}

export class NftsentryError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: NftsentryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NftsentryError';
    this.code = code;
    this.details = options.details;
  }
}

export function isNftsentryError(err: unknown, code?: ErrorCode): err is NftsentryError {
  return err instanceof NftsentryError && (code === undefined || err.code === code);
}
