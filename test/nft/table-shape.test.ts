/**
 * The table's shape (src/nft/table-shape.ts): read from the fake after the full ruleset, and what
 * each kind of damage looks like against it. Pure comparisons; the fake stands in for the kernel
 * (test/kernel/fake-agrees.test.ts reads the same findings from both).
 */
import { describe, expect, it } from 'vitest';
import { applyRuleset } from '../../src/nft/apply.ts';
import { readTableShape, shapeFindings, tableShape, type TableShape } from '../../src/nft/table-shape.ts';
import { FULL, setup } from './fake-helpers.ts';

async function damaged(script: string): Promise<{ expected: TableShape; findings: string[] }> {
  const { nft } = await setup();
  const expected = (await readTableShape(nft))!;
  await nft.runScript(script);
  const findings = shapeFindings(expected, await readTableShape(nft)).map((f) => `${f.kind}: ${f.what}`);
  return { expected, findings };
}

describe('the table shape', () => {
  it('holds every chain with its rules, the named objects and the config sets element counts', async () => {
    const { nft } = await setup();
    const shape = (await readTableShape(nft))!;
    expect([...shape.chains.keys()]).toEqual([
      'prerouting',
      'input',
      'forward',
      'tcp_flags',
      'scan_detect',
      'scan_fast',
      'scan_fast_full',
      'scan_slow',
      'scan_slow_full',
      'scan_ban_trap',
      'knock',
      'ttl_input',
      'ttl_forward',
    ]);
    expect(shape.chains.get('ttl_input')!.base).toBe('filter input -150 accept');
    expect(shape.chains.get('input')!.base).toBe('filter input 0 drop');
    expect(shape.chains.get('tcp_flags')).toMatchObject({ base: null, rules: expect.any(Array) });
    expect(shape.chains.get('tcp_flags')!.rules).toHaveLength(8);
    expect(shape.objects.get('set ban4')).toBe('["ipv4_addr",null,["timeout"],110000,null]');
    expect(shape.objects.has('counter drop_banned')).toBe(true);
    expect(shape.configElements.get('allow4')).toBe(2);
    // Applied again: the same shape (new handles, the same rules).
    await applyRuleset(FULL, { runner: nft });
    expect(shapeFindings(shape, await readTableShape(nft))).toEqual([]);
  });

  it('ignores other tables, anonymous sets and counter values', () => {
    const json = {
      nftables: [
        { table: { family: 'inet', name: 'nftsentry', handle: 1 } },
        { table: { family: 'ip', name: 'other', handle: 2 } },
        { set: { family: 'inet', table: 'nftsentry', name: '__set0', type: 'inet_service' } },
        { counter: { family: 'inet', table: 'nftsentry', name: 'c', packets: 5, bytes: 300 } },
        { chain: { family: 'ip', table: 'other', name: 'x' } },
        { rule: { family: 'inet', table: 'nftsentry', chain: 'y', expr: [{ counter: { packets: 1, bytes: 2 } }] } },
      ],
    };
    const shape = tableShape(json)!;
    expect([...shape.objects.keys()]).toEqual(['counter c']);
    expect(shape.chains.get('y')!.rules).toEqual(['[{"counter":{}}]']);
    expect(shape.chains.has('x')).toBe(false);
    expect(tableShape({ nftables: [{ table: { family: 'ip', name: 'other' } }] })).toBeNull();
  });

  it('a chain emptied or deleted, a rule added, a set deleted, a config set short of elements', async () => {
    expect((await damaged('flush chain inet nftsentry input')).findings).toEqual([
      'chain: chain input emptied (31 rules)',
    ]);
    expect((await damaged('delete chain inet nftsentry forward')).findings).toEqual(['chain: chain forward deleted']);
    expect((await damaged('add rule inet nftsentry prerouting accept')).findings).toEqual([
      'rule: chain prerouting: 0 rules missing, 1 not ours',
    ]);
    expect((await damaged('flush chain inet nftsentry prerouting\ndelete set inet nftsentry ban4')).findings).toEqual([
      'chain: chain prerouting emptied (9 rules)',
      'set: set ban4 deleted',
    ]);
    expect((await damaged('delete element inet nftsentry allow4 { 192.0.2.10 . 0-255 }')).findings).toEqual([
      'set: set allow4 holds 1 of 2 elements',
    ]);
  });

  it('flush table: every chain lost its rules (the table); the table gone', async () => {
    const { findings } = await damaged('flush table inet nftsentry');
    expect(findings[0]).toBe('table: every chain lost its rules');
    expect(findings.slice(1).every((f) => f.startsWith('chain: '))).toBe(true);
    expect((await damaged('flush ruleset')).findings).toEqual(['table: table inet nftsentry is gone']);
  });

  it('objects beyond the expected ones are no damage (an apply would not remove them)', async () => {
    const { findings } = await damaged(
      'table inet nftsentry {\nset extra { type ipv4_addr; }\nchain extra { }\n}\nadd element inet nftsentry ban4 { 198.51.100.1 }',
    );
    expect(findings).toEqual([]);
  });

  it('rules changed in place, or out of order', () => {
    const shape = (rules: string[]): TableShape => ({
      chains: new Map([['c', { base: null, rules }]]),
      objects: new Map(),
      configElements: new Map(),
    });
    expect(shapeFindings(shape(['a', 'b', 'c']), shape(['a', 'x', 'c']))).toEqual([
      { kind: 'rule', what: 'chain c: 1 rules missing, 1 not ours' },
    ]);
    expect(shapeFindings(shape(['a', 'b']), shape(['b', 'a']))).toEqual([
      { kind: 'rule', what: 'chain c: rules out of order' },
    ]);
    expect(shapeFindings(null, shape([]))).toEqual([]);
  });
});
