/**
 * The host-namespace guard: tests and the lab run nft only inside network namespaces they
 * created, never in the host's own. exec.ts checks it before every nft process it starts; the
 * daemon (cli/commands/run.ts) checks it before it opens a socket.
 */
import { statSync } from 'node:fs';
import { NftsentryError, ErrorCodes } from '../errors.ts';

/** True when the environment asks every nft runner to refuse the host namespace (tests, lab). */
export function hostNetnsForbiddenByEnv(): boolean {
  return process.env.NFTSENTRY_FORBID_HOST_NETNS === '1';
}

export function nsInode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/**
 * The host's network namespace inodes: PID 1's (when its link is readable: not in every sandbox)
 * and NFTSENTRY_HOST_NETNS_INODE, which the test setup sets to its own so that processes it starts
 * inside namespaces still know which namespace is the host's.
 */
function hostNetnsInodes(): Set<number> {
  const hosts = new Set<number>();
  const pid1 = nsInode('/proc/1/ns/net');
  if (pid1 !== null) hosts.add(pid1);
  const fromEnv = Number(process.env.NFTSENTRY_HOST_NETNS_INODE);
  if (Number.isSafeInteger(fromEnv) && fromEnv > 0) hosts.add(fromEnv);
  return hosts;
}

/**
 * Throws E_HOST_NETNS when nft would run in the host's network namespace: the named namespace, or
 * without one the caller's own, is a host namespace. When no host namespace is known, the
 * caller's own counts as the host's (so nft must run in a named namespace).
 */
export function assertNotHostNetns(netns: string | undefined): void {
  const self = nsInode('/proc/self/ns/net');
  const target = netns ? nsInode(`/run/netns/${netns}`) : self;
  if (netns && target === null) {
    throw new NftsentryError(ErrorCodes.NETNS_FAILED, `network namespace "${netns}" does not exist`);
  }
  const hosts = hostNetnsInodes();
  if (hosts.size === 0 && self !== null) hosts.add(self);
  if (target === null || hosts.has(target)) {
    throw new NftsentryError(
      ErrorCodes.HOST_NETNS,
      'refusing to run nft in the host network namespace (tests and the lab only run nft inside namespaces they created)',
    );
  }
}
