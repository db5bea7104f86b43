/**
 * Once per test run: remove namespaces left by test processes that died without their teardown
 * (a killed worker, a crash). Only `nfs-<pid>-...` namespaces whose creating process is gone are
 * touched, so a concurrent run keeps its own.
 */
import { sweepStaleNetns } from '../../src/lab/netns.ts';

async function sweep(when: string) {
  const swept = await sweepStaleNetns();
  if (swept.length > 0)
    process.stderr.write(`test ${when}: removed ${swept.length} stale namespace(s): ${swept.join(', ')}\n`);
}

export async function setup() {
  await sweep('setup');
}

export async function teardown() {
  await sweep('teardown');
}
