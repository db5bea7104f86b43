/**
 * The rollback of `apply --confirm` as text: the listing parsed into the table's objects, and the
 * one transaction that puts the snapshot's chains, rules and config sets back while the ban sets
 * and their elements stay untouched. Listings in the form `nft -s list table` prints.
 */
import { describe, expect, it } from 'vitest';
import {
  chainHook,
  compactSnapshot,
  parseTableListing,
  rollbackScript,
  withoutElements,
} from '../../src/nft/table-snapshot.ts';

const listing = (services: string, inputRules: string, extra = '') => `table inet nftsentry {
	counter drop_banned {
		comment "source in ban4/ban6 {not a brace}"
	}

	set ban4 {
		type ipv4_addr
		flags timeout
		elements = { 198.18.9.9 timeout 1h, 198.18.9.10 timeout 2h }
	}

	map scan_reason4 {
		type ipv4_addr : mark
		size 262144
		flags dynamic,timeout
	}

	set services {
		type inet_proto . inet_service
		flags interval
		elements = { ${services} }
	}

	set rl_syn4 {
		type ipv4_addr
		size 65535
		flags dynamic,timeout
		elements = { 198.18.1.2 timeout 1m expires 50s }
	}
${extra}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
${inputRules}
	}

	chain scan_detect {
	}
}
`;

const BEFORE = listing('tcp . 22,\n\t\t\t     tcp . 8080', '\t\tmeta l4proto . th dport @services accept');
const AFTER = listing(
  'tcp . 22',
  '\t\tjump extra\n\t\tmeta l4proto . th dport @services accept',
  '\n\tchain extra {\n\t\tip saddr 198.18.1.2 drop\n\t}\n',
);

describe('parseTableListing', () => {
  it('finds each object, a quoted brace in a comment and multi-line elements included', () => {
    const blocks = parseTableListing(BEFORE)!;
    expect(blocks.map((b) => `${b.kind} ${b.name}`)).toEqual([
      'counter drop_banned',
      'set ban4',
      'map scan_reason4',
      'set services',
      'set rl_syn4',
      'chain input',
      'chain scan_detect',
    ]);
    expect(blocks[3]!.text).toContain('tcp . 8080 }');
    expect(blocks.at(-1)!.text).toBe('\tchain scan_detect {\n\t}');
  });

  it('is null without the table, and refuses unbalanced text', () => {
    expect(parseTableListing('table inet other {\n}\n')).toBeNull();
    expect(parseTableListing('')).toBeNull();
    expect(() => parseTableListing('table inet nftsentry {\n\tchain input {\n')).toThrow(/not closed/);
  });

  it('reads the hook of a base chain, null for a regular chain', () => {
    const [input, detect] = parseTableListing(BEFORE)!.filter((b) => b.kind === 'chain');
    expect(chainHook(input!)).toBe('type filter hook input priority filter;');
    expect(chainHook(detect!)).toBeNull();
  });

  it('drops elements spanning lines', () => {
    const services = parseTableListing(BEFORE)!.find((b) => b.name === 'services')!;
    expect(withoutElements(services.text)).toBe(
      '\tset services {\n\t\ttype inet_proto . inet_service\n\t\tflags interval\n\t}',
    );
  });
});

describe('rollbackScript', () => {
  it('flushes the chains, deletes the new one, refills the config sets, leaves the ban sets and meters alone', () => {
    expect(rollbackScript(BEFORE, AFTER)).toMatchInlineSnapshot(`
      "flush chain inet nftsentry extra
      flush chain inet nftsentry input
      flush chain inet nftsentry scan_detect
      delete chain inet nftsentry extra
      flush set inet nftsentry services
      table inet nftsentry {
      	set services {
      		type inet_proto . inet_service
      		flags interval
      		elements = { tcp . 22,
      			     tcp . 8080 }
      	}
      	chain input {
      		type filter hook input priority filter; policy drop;
      		ct state established,related accept
      		meta l4proto . th dport @services accept
      	}
      	chain scan_detect {
      	}
      }
      "
    `);
  });

  it('never names a ban set or scan reason map while they exist', () => {
    const script = rollbackScript(BEFORE, AFTER);
    expect(script).not.toMatch(/ban4|scan_reason4|198\.18\.9\./);
  });

  it('declares objects the table lost without their elements (a ban set comes back empty, not refilled)', () => {
    const script = rollbackScript(BEFORE, 'table inet nftsentry {\n}\n');
    expect(script).toContain('\tset ban4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}');
    expect(script).not.toContain('198.18.9.9');
    expect(script).toContain('counter drop_banned {');
    expect(script).not.toMatch(/^flush/m);
  });

  it('deletes and declares again a base chain whose hook changed', () => {
    const moved = AFTER.replace('priority filter; policy drop;', 'priority raw; policy drop;');
    expect(rollbackScript(BEFORE, moved)).toContain('delete chain inet nftsentry input');
    expect(rollbackScript(BEFORE, AFTER)).not.toContain('delete chain inet nftsentry input');
  });

  it('without a snapshot (no table before the apply): the chains go, the sets stay', () => {
    expect(rollbackScript(null, AFTER)).toMatchInlineSnapshot(`
      "flush chain inet nftsentry extra
      flush chain inet nftsentry input
      flush chain inet nftsentry scan_detect
      delete chain inet nftsentry extra
      delete chain inet nftsentry input
      delete chain inet nftsentry scan_detect
      "
    `);
    expect(rollbackScript(null, null)).toBe('');
  });
});

describe('compactSnapshot', () => {
  it('keeps the config sets with their elements and drops every other element', () => {
    const compact = compactSnapshot(BEFORE);
    expect(compact).not.toMatch(/198\.18\.9\.|198\.18\.1\.2/);
    expect(compact).toContain('tcp . 8080 }');
    expect(rollbackScript(compact, AFTER)).toBe(rollbackScript(BEFORE, AFTER));
  });
});
