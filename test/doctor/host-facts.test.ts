import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  intOf,
  memTotalBytes,
  readNftablesConf,
  readProcFacts,
  readSystemdFacts,
} from '../../src/doctor/host-facts.ts';

const root = mkdtempSync(join(tmpdir(), 'nsdoc-proc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function put(rel: string, text: string) {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
}

describe('the doctor reads /proc from a configurable root', () => {
  it('reads each value from a prepared directory; a missing or garbled file reads as unknown', async () => {
    put('sys/net/ipv4/tcp_syncookies', '0\n');
    put('sys/net/netfilter/nf_conntrack_max', '128\n');
    put('sys/net/netfilter/nf_conntrack_buckets', '16\n');
    put('sys/net/netfilter/nf_conntrack_count', 'lots\n');
    put('sys/kernel/osrelease', '6.1.0-test\n');
    put('meminfo', 'MemTotal:        2048 kB\nMemFree:         1024 kB\n');
    expect(await readProcFacts({ procRoot: root })).toEqual({
      tcpSyncookies: 0,
      conntrackMax: 128,
      conntrackBuckets: 16,
      conntrackCount: null,
      conntrackAcct: null,
      memTotalBytes: 2048 * 1024,
      kernelRelease: '6.1.0-test',
    });
  });
  it('parses only plain numbers', () => {
    expect([intOf('42\n'), intOf('-1'), intOf(''), intOf(null), intOf('1e9')]).toEqual([42, null, null, null, null]);
    expect(memTotalBytes('MemFree: 1 kB')).toBe(null);
  });
  it('a missing nftables.conf reads as null; without systemd nothing is asked', async () => {
    expect(readNftablesConf(join(root, 'no-such.conf'))).toEqual({ path: join(root, 'no-such.conf'), text: null });
    expect(await readSystemdFacts(join(root, 'no-systemd'))).toEqual({
      booted: false,
      nftablesEnabled: null,
      unitActive: null,
      unitEnabled: null,
    });
  });
});
