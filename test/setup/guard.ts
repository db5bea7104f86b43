/**
 * Runs before every test file. nft must never run in the host's own network namespace: every
 * NftRunner created in a test refuses it (see src/nft/netns-guard.ts), and this file refuses to start
 * a kernel test at all unless this machine can make namespaces.
 */
import { statSync } from 'node:fs';

process.env.NFTSENTRY_FORBID_HOST_NETNS = '1';
// The namespace the tests start in is the host's: children started inside test namespaces inherit
// this and compare their own namespace with it (src/nft/netns-guard.ts).
process.env.NFTSENTRY_HOST_NETNS_INODE ??= String(statSync('/proc/self/ns/net').ino);
process.env.NFTSENTRY_LOG_LEVEL ??= 'silent';

if (Number(process.versions.node.split('.')[0]) < 24) {
  throw new Error(
    `tests need Node 24 (this is ${process.version}): run them with \`npm test\`, which uses node_modules/.bin/node`,
  );
}
