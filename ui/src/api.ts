/**
 * The page's requests: same origin, the session cookie (HttpOnly: the page never sees it), JSON.
 * A 401 sends the browser to the login page; other errors carry the server's stable code.
 */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status === 401) {
    location.assign('/ui/login');
    throw new ApiFailure(401, 'E_UNAUTHORIZED', 'logged out');
  }
  const json = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!res.ok)
    throw new ApiFailure(res.status, json?.error?.code ?? 'E_HTTP', json?.error?.message ?? `HTTP ${res.status}`);
  return json as T;
}

export const enc = encodeURIComponent;

export interface Ban {
  address: string;
  source: string;
  reason: string;
  signature: string | null;
  expiresMs: number | null;
  lastSeenMs: number;
  offences: number;
  /** Packets the kernel counted against the ban (when the daemon counts them). */
  packets?: number;
}

export interface BanPage {
  total: number;
  limit: number;
  offset: number;
  items: Ban[];
}

export interface SessionInfo {
  principal: string;
  canWrite: boolean;
  version: string;
}

export interface LiveEvent {
  type: 'ban' | 'unban' | 'allow' | 'unallow';
  address: string;
  source?: string;
}

/** "1h 2m", "3d 4h", "42s": the time left of a ban. */
export function shortDuration(sec: number): string {
  if (sec >= 86_400) return `${Math.floor(sec / 86_400)}d ${Math.floor((sec % 86_400) / 3600)}h`;
  if (sec >= 3600) return `${Math.floor(sec / 3600)}h ${Math.floor((sec % 3600) / 60)}m`;
  if (sec >= 60) return `${Math.floor(sec / 60)}m ${sec % 60}s`;
  return `${Math.max(0, sec)}s`;
}
