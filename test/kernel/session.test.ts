/**
 * src/nft/session.ts, the `nft -i` protocol, against real nft in a namespace made for this file.
 * The read session (`nft -j -i` as a long-lived co-process, NftRunner.useReadSession): the same
 * answers as a process per read, errors classified the same, megabyte answers whole, and one
 * process for any number of reads. The co-process's hygiene: no readline history, recycled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { openNftSession } from '../../src/nft/session.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { readSet, readCounters } from '../../src/nft/state.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { isNftsentryError, ErrorCodes } from '../../src/errors.ts';

let ns: Netns;
let nft: NftRunner;

/** nft processes of this test's namespace that are children of this process. */
function nftChildren(): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (cmd.startsWith('nft\0') && (ppid === process.pid || cmd.includes(ns.name))) n++;
    } catch {
      // gone
    }
  }
  return n;
}

beforeAll(async () => {
  ns = await Netns.create('reads');
  nft = new NftRunner({ netns: ns.name });
  await applyRuleset(parseConfigText('home_networks: [198.18.0.0/24]\nservices: { tcp: [22] }\n'), { runner: nft });
  const els = Array.from(
    { length: 20_000 },
    (_, i) => `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255} timeout 3600s`,
  );
  await nft.runScript(`add element inet nftsentry ban4 { ${els.join(', ')} }\n`);
});
afterAll(async () => {
  nft?.useReadSession(false);
  await ns?.delete();
});

describe('read session', () => {
  it('answers like a process per read, for sets, maps and counters; a 20k-element set comes whole', async () => {
    const byProcess = {
      ban4: (await readSet(nft, 'ban4')).map((e) => e.key).sort(),
      counters: (await readCounters(nft)).map((c) => c.name).sort(),
    };
    nft.useReadSession(true);
    const bySession = {
      ban4: (await readSet(nft, 'ban4')).map((e) => e.key).sort(),
      counters: (await readCounters(nft)).map((c) => c.name).sort(),
    };
    expect(bySession.ban4).toHaveLength(20_000);
    expect(bySession).toEqual(byProcess);
    expect(await readSet(nft, 'scan_reason4', 'map')).toEqual([]);
    nft.useReadSession(false);
  });

  it('a missing object is E_NFT_NOT_FOUND, and the next read still gets its own answer', async () => {
    nft.useReadSession(true);
    const err = await nft.json(['list', 'set', 'inet', 'nftsentry', 'no_such_set']).catch((e: unknown) => e);
    expect(isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)).toBe(true);
    const j = await nft.json(['list', 'set', 'inet', 'nftsentry', 'allow4']);
    expect(JSON.stringify(j)).toContain('"name":"allow4"');
    nft.useReadSession(false);
  });

  it('one co-process for many reads, concurrent ones included; closed again by useReadSession(false)', async () => {
    nft.useReadSession(true);
    const before = nftChildren();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => nft.json(['list', 'set', 'inet', 'nftsentry', i % 2 ? 'home4' : 'allow6'])),
    );
    expect(nftChildren()).toBe(before + 1);
    nft.useReadSession(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(nftChildren()).toBe(before);
  });

  it('only plain list commands take the session; anything else still starts nft', async () => {
    nft.useReadSession(true);
    const err = await nft.json(['list', 'set', 'inet', 'nftsentry', 'ban4;flush']).catch((e: unknown) => e);
    expect(isNftsentryError(err)).toBe(true); // refused by nft as a process, never sent on the session's line
    const t = await nft.json(['-t', 'list', 'table', 'inet', 'nftsentry']);
    expect(t.nftables.some((o) => 'table' in o)).toBe(true);
    nft.useReadSession(false);
  });
});

describe('nft -i closed for good', () => {
  it('a call queued behind close() fails with E_NFT_CLOSED and starts no co-process', async () => {
    const session = openNftSession(nft, { json: true });
    const first = session.list(['list', 'set', 'inet', 'nftsentry', 'ban4']);
    const queued = session.list(['list', 'set', 'inet', 'nftsentry', 'ban6']);
    session.close();
    await first.catch(() => undefined);
    await expect(queued).rejects.toMatchObject({ code: 'E_NFT_CLOSED' });
    await expect(session.run(['add element inet nftsentry ban4 { 198.18.99.1 }'])).rejects.toMatchObject({
      code: 'E_NFT_CLOSED',
    });
    expect(session.processInfo.started).toBeLessThanOrEqual(1);
    expect(session.running).toBe(false);
  });
});

describe('nft -i co-process hygiene (readline history)', () => {
  const historyAt = (): string | null =>
    existsSync('/.nft.history') ? `${statSync('/.nft.history').size}@${statSync('/.nft.history').mtimeMs}` : null;

  it('writes no history file (nft -i rewrites $HOME/.nft.history whole at every exit; HOME is /dev/null)', async () => {
    const before = historyAt();
    const session = openNftSession(nft);
    for (let i = 0; i < 20; i++) await session.run([`add element inet nftsentry ban4 { 100.100.0.${i} timeout 60s }`]);
    const pid = session.processInfo.pid!;
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain('HOME=/dev/null');
    session.close();
    for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(historyAt()).toBe(before);
  });

  it('is replaced after recycleBytes of input (readline keeps every distinct line), and no transaction is lost', async () => {
    const session = openNftSession(nft, { recycleBytes: 2000 });
    const pids = new Set<number>();
    for (let i = 0; i < 60; i++) {
      await session.run([`add element inet nftsentry ban4 { 100.101.0.${i} timeout 60s }`]);
      if (session.processInfo.pid) pids.add(session.processInfo.pid);
    }
    expect(session.processInfo.started).toBeGreaterThanOrEqual(3);
    expect(pids.size).toBe(session.processInfo.started);
    session.close();
    const keys = (await readSet(nft, 'ban4')).map((e) => e.key).filter((k) => k.startsWith('100.101.0.'));
    expect(keys).toHaveLength(60);
  });
});
