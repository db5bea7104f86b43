/**
 * `apply --allow-my-session`: the SSH client of this session (SSH_CONNECTION) on the live
 * allowlist before the apply, as `POST /v1/allowlist` puts it there: through the daemon's API
 * when it runs, else into the store (and into the apply's allow sets). The config file is not
 * edited.
 */
import type { Config } from '../config/config.ts';
import { Allowlist } from '../engine/allowlist.ts';
import type { Logger } from '../log.ts';
import { type IpPrefix, parseIp, parsePrefix, unmapV4 } from '../net/ip.ts';
import { openStore } from '../store/store-opener.ts';
import { ApiClient, ApiClientError, targetFromConfig } from './api-client.ts';

export const SESSION_NOTE = 'apply --allow-my-session';

/** The client address of `SSH_CONNECTION` ("client port server port") as a host prefix; null if none. Pure. */
export function sshClientPrefix(sshConnection: string | undefined): IpPrefix | null {
  const first = (sshConnection ?? '').trim().split(/\s+/)[0] ?? '';
  const ip = first ? parseIp(first) : null;
  if (!ip) return null;
  const addr = unmapV4(ip) ?? ip;
  return parsePrefix(`${addr.text}/${addr.family === 4 ? 32 : 128}`);
}

/** Through the daemon; true when added, false when it was there already. */
export async function allowThroughDaemon(config: Readonly<Config>, prefix: IpPrefix): Promise<boolean> {
  try {
    await new ApiClient(targetFromConfig(config.api)).call('POST', '/v1/allowlist', {
      address: prefix.text,
      note: SESSION_NOTE,
    });
    return true;
  } catch (err) {
    if (err instanceof ApiClientError && err.status === 409) return false;
    throw err;
  }
}

/** Into the store (no daemon runs); true when added, false when it was there already. */
export function allowInStore(config: Readonly<Config>, prefix: IpPrefix, log: Logger): boolean {
  const nowMs = Date.now();
  const { store } = openStore(config.store.path, log, nowMs);
  try {
    const allowlist = new Allowlist(store, config.allowlist, nowMs);
    if (allowlist.list().some((e) => e.prefix === prefix.text)) return false;
    allowlist.add(prefix, SESSION_NOTE, nowMs);
    return true;
  } finally {
    store.close();
  }
}
