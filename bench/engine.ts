/**
 * Ban engine benchmarks, each beside its baseline in one run (numbers go to docs/engine.md):
 *
 *   1. runner: one small transaction through `nft -f FILE` vs the long-lived `nft -i`
 *   2. alert-to-kernel latency at 1k alerts/s, unix socket -> parse -> decide -> nft
 *      (co-process path vs file-only path)
 *   3. 100k distinct bans from a burst of alerts into the kernel vs one `nft add element`
 *      process per ban (fail2ban's way; run on 1000 and extrapolated)
 *   4. restore of 100k bans at start (empty kernel after a reboot; full kernel after a daemon
 *      restart) vs flush + re-add
 *   5. memory with 1M bans recorded (in memory + store; dry-run, so the kernel is not filled)
 *   6. one ban transaction through `nft -i` while bannet4 holds 0 / 1,000 / 10,000 prefix bans:
 *      bannet4/bannet6 as `address . protocol` concatenations vs the plain interval sets before
 *
 *   node_modules/.bin/node bench/engine.ts [--quick] [--only=runner|latency|burst|memory|prefix]
 *
 * Warm or alternating, so that the order of the cases does not decide the result: (1) 10
 * uncounted `nft -f` runs and one uncounted co-process transaction before the counted ones, and
 * 10 uncounted round trips to cat; (2) one uncounted warm-up run (the process's first daemon
 * starts cold), then 2 and 1 in flight alternate, and the file-only baseline runs last, warm;
 * (3) an uncounted warm-up burst before the counted ones, and 5 uncounted processes before the
 * one-process-per-ban baseline; (4) and (5) run after (3), in a warm process; (6) an uncounted
 * transaction opens each session, and single and prefix transactions alternate.
 *
 * These numbers are measured inside the process (the engine's own callback when nft answered);
 * bench/latency.ts measures from outside, as a user sees it.
 *
 * The benchmark creates its own network namespace and re-runs itself inside it (so nft runs
 * the way the daemon runs it, without `ip netns exec` per call); nft never runs in the host's.
 */
import { statSync } from 'node:fs';
import { Netns } from '../src/lab/netns.ts';

const inside = process.argv.includes('--inside');

if (!inside) {
  const ns = await Netns.create('bench');
  const cleanup = () => void ns.delete();
  process.once('SIGINT', cleanup);
  try {
    const child = ns.spawn(process.execPath, ['--expose-gc', 'bench/engine-cases.ts', ...process.argv.slice(2)], {
      env: {
        NFTSENTRY_HOST_NETNS_INODE: String(statSync('/proc/self/ns/net').ino),
        NFTSENTRY_FORBID_HOST_NETNS: '0',
        NFTSENTRY_LOG_LEVEL: 'silent',
      },
      stdout: 'inherit',
      stderr: 'inherit',
      timeout: 15 * 60_000,
    });
    const r = await child;
    process.exitCode = r.exitCode ?? 1;
  } finally {
    await ns.delete();
  }
}
