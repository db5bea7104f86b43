/**
 * What `nft monitor` printed (nft 1.0.6, kernel 6.18, recorded in a namespace) -> the damage a
 * foreign transaction did to table inet nftsentry (engine/kernel-damage.ts), and the generation
 * reader that cuts the monitor's output into transactions (nft/monitor.ts). Pure.
 */
import { describe, expect, it } from 'vitest';
import { describeDamage, isDamage, mergeDamage, readDamage, readEarlyDamage } from '../../src/engine/kernel-damage.ts';
import { GenerationReader } from '../../src/nft/monitor.ts';

const summary = (lines: string[]) => {
  const d = readDamage(lines);
  return {
    structure: d.structure,
    removed: Object.fromEntries(d.removed),
    unclear: d.unclear,
    seen: describeDamage(d),
  };
};

describe('readDamage', () => {
  it('elements deleted by hand, `nft flush set`: the ledger keys, /64 for ban6net64', () => {
    expect(
      summary([
        'delete element inet nftsentry ban4 { 198.51.100.7 timeout 1h expires 59m59s676ms }',
        'delete element inet nftsentry ban4 { 198.51.100.8 timeout 1h expires 59m55s472ms }',
        'delete element inet nftsentry ban6 { 2001:db8:bad:0:0:0:0:5 timeout 30m expires 29m1s }',
        'delete element inet nftsentry ban6net64 { 2001:db8:1:: timeout 1h expires 59m59s464ms }',
      ]),
    ).toEqual({
      structure: false,
      removed: {
        '198.51.100.7': 'ban4',
        '198.51.100.8': 'ban4',
        '2001:db8:bad::5': 'ban6',
        '2001:db8:1::/64': 'ban6net64',
      },
      unclear: false,
      seen: ['delete element ban4 x2', 'delete element ban6', 'delete element ban6net64'],
    });
  });

  it('a refresh (add, delete, add) and the probe (add, delete of 0.0.0.0): what is left deleted', () => {
    const d = readDamage([
      'add element inet nftsentry ban4 { 198.51.100.1 timeout 2h expires 2h }',
      'delete element inet nftsentry ban4 { 198.51.100.1 timeout 2h expires 2h }',
      'add element inet nftsentry ban4 { 198.51.100.1 timeout 2h expires 2h }',
      'add element inet nftsentry ban4 { 0.0.0.0 }',
      'delete element inet nftsentry ban4 { 0.0.0.0 }',
    ]);
    expect(Object.fromEntries(d.removed)).toEqual({ '0.0.0.0': 'ban4' });
    expect(d.structure || d.unclear).toBe(false);
  });

  it('`nft flush chain`, `nft delete rule`, `nft delete chain`: structure; a rule anonymous set is part of its rule', () => {
    expect(
      summary([
        'delete rule inet nftsentry input handle 84',
        'delete set inet nftsentry __set0',
        'delete rule inet nftsentry input handle 86',
        'delete chain inet nftsentry input',
      ]),
    ).toEqual({
      structure: true,
      removed: {},
      unclear: false,
      seen: ['delete rule input x2', 'delete chain input'],
    });
  });

  it('`nft flush ruleset`: the table and everything in it (no element events), another table ignored', () => {
    const d = readDamage([
      'delete set inet nftsentry ban4',
      'delete counter inet nftsentry drop_banned',
      'delete chain inet nftsentry prerouting',
      'delete table inet nftsentry',
      'delete chain ip other c',
      'delete table ip other',
    ]);
    expect(d.structure).toBe(true);
    expect([...d.sets]).toEqual(['ban4', 'ban6', 'ban6net64', 'bannet4', 'bannet6']);
    expect([...readDamage(['delete set inet nftsentry ban6net64', 'delete set inet nftsentry allow4']).sets]).toEqual([
      'ban6net64',
    ]);
    expect(describeDamage(d)).toEqual([
      'delete set ban4',
      'delete counter drop_banned',
      'delete chain prerouting',
      'delete table',
    ]);
  });

  it('the prefix-ban and config sets: nft prints nothing or garbage for their elements, so they are to be read', () => {
    // Every other element event of a concatenated interval set is printed paired with the one
    // before it: with garbage for the range's end.
    expect(
      readDamage(['delete element inet nftsentry bannet4 { 198.51.100.0 . 0-0x680000000300007f9328cea4a00000 }'])
        .unclear,
    ).toBe(true);
    expect(
      readDamage(['add element inet nftsentry trap_ports { 6 . 135-0x56492e7d7c30000 [invalid type] }']).unclear,
    ).toBe(true);
    // ...and the others print nothing: a transaction with no line at all.
    expect(readDamage([]).unclear).toBe(true);
    // A line that is no change nft prints (a piece of one it printed wrongly).
    expect(readDamage(['0x55e9a2d7c99000000000000000000']).unclear).toBe(true);
  });

  it('no damage: declarations (someone applied the same objects), additions, meters, other tables', () => {
    const d = readDamage([
      'add table inet nftsentry',
      'add chain inet nftsentry prerouting { type filter hook prerouting priority raw; policy accept; }',
      'add set inet nftsentry ban4 { type ipv4_addr; flags timeout; }',
      'add element inet nftsentry ban4 { 198.51.100.9 timeout 1h expires 1h }',
      'delete element inet nftsentry rl_syn4 { 198.51.100.9 timeout 1m expires 40s }',
      'delete element inet nftsentry scanners4 { 198.51.100.9 timeout 1h expires 12m }',
      'delete rule ip other c handle 4',
      'add table ip other',
    ]);
    expect(isDamage(d)).toBe(false);
  });

  it('a rule added to one of our chains is damage (an apply flushes our chains); truncated lines: check everything', () => {
    expect(readDamage(['add rule inet nftsentry prerouting handle 119 ip saddr 198.51.100.1 accept']).structure).toBe(
      true,
    );
    expect(readDamage(['delete element inet nftsentry ban4 { 198.51.100.7 }'], true).incomplete).toBe(true);
  });

  it('merged damage: later deletions added, flags kept, counts summed', () => {
    const a = readDamage(['delete element inet nftsentry ban4 { 198.51.100.7 }']);
    const b = readDamage([
      'delete rule inet nftsentry input handle 3',
      'delete element inet nftsentry ban4 { 198.51.100.8 }',
    ]);
    const m = mergeDamage(a, b);
    expect([...m.removed.keys()]).toEqual(['198.51.100.7', '198.51.100.8']);
    expect(m.structure).toBe(true);
    expect(describeDamage(m)).toEqual(['delete element ban4 x2', 'delete rule input']);
  });
});

describe('GenerationReader', () => {
  const own = new Set([4242]);
  const reader = () => new GenerationReader((pid) => own.has(pid), 3);

  it('cuts the output into transactions at their generation line, in chunks split anywhere', () => {
    const r = reader();
    const text = [
      'delete element inet nftsentry ban4 { 198.51.100.7 timeout 1h expires 59m }',
      '# new generation 269 by process 26963 (nft)',
      'add element inet nftsentry ban4 { 198.51.100.8 timeout 1h expires 1h }',
      '# new generation 270 by process 4242 (nft)',
      '# new generation 271 by process 26970 (nft)',
      '',
    ].join('\n');
    const out = [r.push(text.slice(0, 30)), r.push(text.slice(30, 100)), r.push(text.slice(100))].flat();
    expect(out).toEqual([
      {
        gen: 269,
        pid: 26963,
        own: false,
        lines: ['delete element inet nftsentry ban4 { 198.51.100.7 timeout 1h expires 59m }'],
        truncated: false,
        early: false,
      },
      // The daemon's own: its lines are not kept.
      { gen: 270, pid: 4242, own: true, lines: [], truncated: false, early: false },
      // Printed nothing (a silent set event): a transaction all the same.
      { gen: 271, pid: 26970, own: false, lines: [], truncated: false, early: false },
    ]);
  });

  it('a generation without its process is foreign; more lines than the cap are dropped and flagged', () => {
    const r = reader();
    const out = r.push('a\nb\nc\nd\n# new generation 7\n');
    expect(out).toEqual([{ gen: 7, pid: null, own: false, lines: ['a', 'b', 'c'], truncated: true, early: false }]);
  });

  it('hands over the first lines of a transaction still being printed, once; its generation is marked early', () => {
    const r = new GenerationReader(() => false, 100, 2);
    expect(r.push('delete element inet nftsentry ban4 { 198.51.100.1 }\n')).toEqual([]);
    expect(r.takeEarly()).toBeNull();
    r.push('delete element inet nftsentry ban4 { 198.51.100.2 }\ndelete element inet nftsentry ban6 { 2001:db8::9 }\n');
    const early = r.takeEarly()!;
    expect(early).toHaveLength(2);
    expect(r.takeEarly()).toBeNull();
    expect([...readEarlyDamage(early).sets]).toEqual(['ban4']);
    const [g] = r.push('# new generation 9 by process 1 (nft)\n');
    expect(g).toMatchObject({ gen: 9, early: true });
    expect(g!.lines).toHaveLength(3);
    expect(r.push('x\n# new generation 10 by process 1 (nft)\n')[0]!.early).toBe(false);
  });
});
