/**
 * Calls between the API worker thread and the daemon's main thread over a MessagePort: the worker
 * asks for Operations (ban, unban, allowlist, engine status), the main thread answers; the main
 * thread pushes telemetry snapshots. Addresses cross as canonical text and are parsed again on
 * the other side; errors cross as {code, message, details} and become NftsentryError again.
 */
import type { MessagePort } from 'node:worker_threads';
import { NftsentryError, ErrorCodes, isNftsentryError, type ErrorCode } from '../../errors.ts';

export interface RpcRequest {
  type: 'call';
  id: number;
  op: string;
  args: unknown[];
}

export interface RpcResponse {
  type: 'result';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export function errorToWire(err: unknown): NonNullable<RpcResponse['error']> {
  if (isNftsentryError(err)) return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  return { code: ErrorCodes.INTERNAL, message: (err as Error)?.message ?? String(err) };
}

export function errorFromWire(e: NonNullable<RpcResponse['error']>): NftsentryError {
  return new NftsentryError(e.code, e.message, e.details ? { details: e.details } : {});
}

/** Worker side: `call(op, ...args)` resolves with the main thread's answer. */
export class RpcClient {
  private readonly port: MessagePort;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;
  private readonly timeoutMs: number;

  constructor(port: MessagePort, timeoutMs = 30_000) {
    this.port = port;
    this.timeoutMs = timeoutMs;
  }

  /** Hands a message from the port to the waiting call; false when it is not an RPC answer. */
  settle(msg: unknown): boolean {
    const m = msg as RpcResponse;
    if (!m || m.type !== 'result') return false;
    const p = this.pending.get(m.id);
    if (!p) return true;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.value);
    else p.reject(errorFromWire(m.error ?? { code: ErrorCodes.INTERNAL, message: 'no error given' }));
    return true;
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new NftsentryError(ErrorCodes.INTERNAL, `the daemon did not answer ${op} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const req: RpcRequest = { type: 'call', id, op, args };
      this.port.postMessage(req);
    });
  }

  /** Fails every waiting call (the worker is closing). */
  failAll(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new NftsentryError(ErrorCodes.INTERNAL, 'the API is closing'));
      this.pending.delete(id);
    }
  }
}

export type RpcHandlers = Record<string, (...args: unknown[]) => unknown>;

/** Main side: answers one request with the named handler. */
export async function answer(port: { postMessage(m: unknown): void }, req: RpcRequest, handlers: RpcHandlers): Promise<void> {
  const handler = Object.hasOwn(handlers, req.op) ? handlers[req.op] : undefined;
  let res: RpcResponse;
  try {
    if (!handler) throw new NftsentryError(ErrorCodes.INTERNAL, `unknown operation ${req.op}`);
    res = { type: 'result', id: req.id, ok: true, value: await handler(...req.args) };
  } catch (err) {
    res = { type: 'result', id: req.id, ok: false, error: errorToWire(err) };
  }
  port.postMessage(res);
}
