/**
 * Calls between the API worker thread and the daemon's main thread over a MessagePort, typed by
 * a table of calls (`Api`: op name -> function of its wire arguments; see daemon-rpc.ts): the
 * worker asks, the main thread answers with the handler of that name. Errors cross as
 * {code, message, details} and become NftsentryError again.
 */
import type { MessagePort } from 'node:worker_threads';
import { NftsentryError, ErrorCodes, isNftsentryError, type ErrorCode } from '../../errors.ts';

/** A table of calls: each member a function of what crosses the port. */
export type RpcTable<Api> = { [K in keyof Api]: (...args: never) => unknown };
export type RpcOp<Api> = Extract<keyof Api, string>;
export type RpcArgs<Api, K extends keyof Api> = Api[K] extends (...args: infer A) => unknown ? A : never;
export type RpcResult<Api, K extends keyof Api> = Api[K] extends (...args: never) => infer R ? Awaited<R> : never;

/** The main side's answer to each op; the compiler holds it to the table, op by op. */
export type RpcHandlers<Api> = {
  [K in RpcOp<Api>]: (...args: RpcArgs<Api, K>) => RpcResult<Api, K> | Promise<RpcResult<Api, K>>;
};

export type RpcRequest<Api> = {
  [K in RpcOp<Api>]: { type: 'call'; id: number; op: K; args: RpcArgs<Api, K> };
}[RpcOp<Api>];

export interface RpcResponse {
  type: 'result';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export function errorToWire(err: unknown): NonNullable<RpcResponse['error']> {
  if (isNftsentryError(err))
    return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  return { code: ErrorCodes.INTERNAL, message: (err as Error)?.message ?? String(err) };
}

export function errorFromWire(e: NonNullable<RpcResponse['error']>): NftsentryError {
  return new NftsentryError(e.code, e.message, e.details ? { details: e.details } : {});
}

/** Worker side: `call(op, ...args)` resolves with the main thread's answer. */
export class RpcClient<Api extends RpcTable<Api>> {
  private readonly port: MessagePort;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout }
  >();
  private nextId = 1;
  private readonly timeoutMs: number;

  constructor(port: MessagePort, timeoutMs = 30_000) {
    this.port = port;
    this.timeoutMs = timeoutMs;
  }

  /** Hands a message from the port to the waiting call; false when it is not an RPC answer. */
  settle(msg: unknown): boolean {
    const m = msg as RpcResponse;
    if (m?.type !== 'result') return false;
    const p = this.pending.get(m.id);
    if (!p) return true;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.value);
    else p.reject(errorFromWire(m.error ?? { code: ErrorCodes.INTERNAL, message: 'no error given' }));
    return true;
  }

  call<K extends RpcOp<Api>>(op: K, ...args: RpcArgs<Api, K>): Promise<RpcResult<Api, K>> {
    const id = this.nextId++;
    return new Promise<RpcResult<Api, K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new NftsentryError(ErrorCodes.INTERNAL, `the daemon did not answer ${op} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.port.postMessage({ type: 'call', id, op, args } as RpcRequest<Api>);
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

/**
 * Main side: answers one request with the handler of its op. The request comes from another
 * thread, so its op is checked against the table's own keys (an unknown op, `__proto__`
 * included, is an E_INTERNAL answer).
 */
export async function answer<Api extends RpcTable<Api>>(
  port: { postMessage(m: unknown): void },
  req: RpcRequest<Api>,
  handlers: RpcHandlers<Api>,
): Promise<void> {
  const op: string = req.op;
  const table = handlers as unknown as Record<string, (...args: unknown[]) => unknown>;
  const handler = Object.hasOwn(table, op) ? table[op] : undefined;
  let res: RpcResponse;
  try {
    if (!handler) throw new NftsentryError(ErrorCodes.INTERNAL, `unknown operation ${op}`);
    res = { type: 'result', id: req.id, ok: true, value: await handler(...(req.args as unknown[])) };
  } catch (err) {
    res = { type: 'result', id: req.id, ok: false, error: errorToWire(err) };
  }
  port.postMessage(res);
}
