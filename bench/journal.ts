/**
 * The decision journal under 1M alerts: rows kept, store file size, and the time the alert path
 * spends queueing vs the time a flush takes, every 100k alerts. The bound is journal.max_entries
 * (default here 100,000; `--max=N`). No nft: the journal is store-only.
 *
 *   node_modules/.bin/node bench/journal.ts [--alerts=1000000] [--max=100000] [--flood=SOURCES]
 *
 * Default: every alert from a new source, below its threshold (a row each: nothing coalesces).
 * --flood=N: the alerts come round-robin from N already banned sources (the journal writes each
 * source's first skip, then one summary row per 60 s window: journal-repeats.ts); the clock moves
 * 10 ms per batch of 4,096, i.e. about 400,000 alerts/s of journal time.
 *
 * Numbers go to docs/explain.md.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../src/engine/journal.ts';
import type { Alert } from '../src/ingest/alert.ts';
import { silentLogger } from '../src/log.ts';
import { Store } from '../src/store/store.ts';

const arg = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
const ALERTS = arg('alerts', 1_000_000);
const MAX = arg('max', 100_000);
const BATCH = 4096;
const FLOOD = arg('flood', 0);

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-bench-journal-'));
const path = join(dir, 'state.db');
const store = new Store(path);
let nowMs = Date.UTC(2026, 11, 1);
const journal = new Journal({
  store,
  log: silentLogger(),
  clock: () => nowMs,
  bounds: () => ({ maxEntries: MAX, maxAgeMs: 30 * 86_400_000 }),
  protectingEntry: () => null,
});

function alertOf(i: number): Alert {
  return {
    ids: 'suricata',
    timeMs: nowMs,
    src: { ip: `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`, port: 40_000 },
    dest: { ip: '198.18.0.1', port: 22 },
    proto: 'TCP',
    gid: 1,
    sid: 2_001_219,
    rev: 20,
    signature: 'ET SCAN Potential SSH Scan',
    category: 'Attempted Information Leak',
    severity: 2,
    action: 'allowed',
  };
}

const size = () => statSync(path).size + (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0);
let queueNs = 0n;
let flushNs = 0n;
let flushes = 0;
console.log(
  `journal bench: ${ALERTS} alerts${FLOOD ? ` from ${FLOOD} banned sources` : ' from new sources'}, journal.max_entries ${MAX}`,
);
console.log('alerts\trows\tdb+wal MiB\tqueue ns/alert\tflush ms/batch');
for (let i = 0; i < ALERTS; ) {
  const n = Math.min(BATCH, ALERTS - i);
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < n; k++, i++) {
    const a = alertOf(FLOOD > 0 ? i % FLOOD : i);
    journal.alert(
      FLOOD > 0
        ? { kind: 'skip', why: 'already_banned', address: a.src.ip, detail: { expiresMs: nowMs + 3_600_000 } }
        : {
            kind: 'skip',
            why: 'below_threshold',
            address: a.src.ip,
            detail: { rule: 'et-scan', alerts: 1, threshold: 3, windowSec: 600 },
          },
      a,
      nowMs,
    );
  }
  const t1 = process.hrtime.bigint();
  journal.flush();
  const t2 = process.hrtime.bigint();
  queueNs += t1 - t0;
  flushNs += t2 - t1;
  flushes++;
  nowMs += 10;
  if (i % 100_000 < BATCH || i === ALERTS) {
    store.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    console.log(
      `${i}\t${journal.table.count}\t${(size() / 1048576).toFixed(1)}\t\t${(Number(queueNs) / i).toFixed(0)}\t\t${(Number(flushNs) / 1e6 / flushes).toFixed(1)}`,
    );
  }
}
console.log(JSON.stringify({ ...journal.stats, rows: journal.table.count, bytes: size() }));
console.log(`flush: ${(Number(flushNs) / ALERTS).toFixed(0)} ns per alert`);
store.close();
rmSync(dir, { recursive: true, force: true });
