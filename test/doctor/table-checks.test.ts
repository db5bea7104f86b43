import { describe, expect, it } from 'vitest';
import {
  foreignBaseChains,
  foreignTableChecks,
  hasFlushRuleset,
  nftablesServiceCheck,
  tableOwner,
} from '../../src/doctor/table-checks.ts';
import { byId, facts, notOk, OWN_TABLE } from './doctor-fixtures.ts';

type Obj = Record<string, unknown>;
const chain = (
  family: string,
  table: string,
  name: string,
  hook: string,
  prio: number,
  policy: string,
  type = 'filter',
): Obj => ({
  chain: { family, table, name, handle: 1, type, hook, prio, policy },
});
const rule = (family: string, table: string, chain: string, verdict: Obj): Obj => ({
  rule: {
    family,
    table,
    chain,
    handle: 5,
    expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 23 } }, verdict],
  },
});
const withRuleset = (...objects: Obj[]) => facts({ nft: { ...facts().nft, ruleset: [...OWN_TABLE, ...objects] } });

describe('other tables on prerouting, input and forward', () => {
  it("reads base chains from nft -j output, counts their drop and reject rules, and skips nftsentry's own", () => {
    const chains = foreignBaseChains([
      ...OWN_TABLE,
      { table: { family: 'ip', name: 'filter', handle: 2 } },
      chain('ip', 'filter', 'INPUT', 'input', 0, 'accept'),
      { chain: { family: 'ip', table: 'filter', name: 'helper', handle: 3 } },
      chain('ip', 'filter', 'OUTPUT', 'output', 0, 'drop'),
      chain('bridge', 'br', 'in', 'input', 0, 'drop'),
      rule('ip', 'filter', 'INPUT', { drop: null }),
      rule('ip', 'filter', 'INPUT', { reject: { type: 'tcp reset' } }),
      rule('ip', 'filter', 'INPUT', { accept: null }),
      rule('ip', 'filter', 'helper', { drop: null }),
    ]);
    expect(chains).toEqual([
      {
        family: 'ip',
        table: 'filter',
        name: 'INPUT',
        type: 'filter',
        hook: 'input',
        prio: 0,
        policy: 'accept',
        dropRules: 2,
      },
    ]);
  });

  it('knows iptables-nft, Docker and firewalld by their names', () => {
    expect(tableOwner({ family: 'ip', table: 'filter', name: 'INPUT' })).toBe('iptables-nft');
    expect(tableOwner({ family: 'ip6', table: 'filter', name: 'FORWARD' })).toBe('iptables-nft');
    expect(tableOwner({ family: 'ip', table: 'filter', name: 'DOCKER-USER' })).toBe('docker');
    expect(tableOwner({ family: 'inet', table: 'firewalld', name: 'filter_INPUT' })).toBe('firewalld');
    expect(tableOwner({ family: 'inet', table: 'filter', name: 'input' })).toBe(null);
  });

  it('a policy drop on input is a problem: both tables must accept; the fix fits who made the table', () => {
    const f = foreignTableChecks(withRuleset(chain('inet', 'filter', 'input', 'input', 0, 'drop')));
    expect(notOk(f)).toEqual(['tables.foreign_drop_policy problem']);
    const p = byId(f, 'tables.foreign_drop_policy')[0]!;
    expect(p.message).toMatch(/^table inet filter chain input on hook input, priority 0 has policy drop/);
    expect(p.message).toContain('their order is not defined');
    expect(p.fix).toMatch(/^nft chain inet filter input '\{ policy accept; \}'/);
    const ipt = byId(
      foreignTableChecks(withRuleset(chain('ip6', 'filter', 'INPUT', 'input', 0, 'drop'))),
      'tables.foreign_drop_policy',
    )[0]!;
    expect(ipt.fix).toMatch(/^ip6tables -t filter -P INPUT ACCEPT/);
    const fwd = byId(
      foreignTableChecks(withRuleset(chain('inet', 'firewalld', 'filter_INPUT', 'input', 10, 'drop'))),
      'tables.foreign_drop_policy',
    )[0]!;
    expect(fwd.message).toContain("runs after nftsentry's input chain");
    expect(fwd.fix).toMatch(/^systemctl disable --now firewalld/);
  });

  it('drop rules in an accepting chain are a warning; a chain that only accepts is ok and explained', () => {
    const f = foreignTableChecks(
      withRuleset(
        chain('ip', 'mangle', 'PREROUTING', 'prerouting', -150, 'accept'),
        rule('ip', 'mangle', 'PREROUTING', { drop: null }),
        chain('inet', 'tap', 'early', 'prerouting', -400, 'accept'),
      ),
    );
    expect(notOk(f)).toEqual(['tables.foreign_drop_rules warning']);
    expect(byId(f, 'tables.foreign_drop_rules')[0]!.message).toContain("runs after nftsentry's prerouting chain");
    expect(byId(f, 'tables.foreign')[0]!.message).toContain(
      "inet tap early (filter, prerouting -400: before nftsentry's)",
    );
    expect(byId(f, 'tables.foreign')[0]!.message).toContain("their accepts do not skip nftsentry's chains");
  });

  it("Docker's tables: a warning that published ports go through forward", () => {
    const f = foreignTableChecks(
      withRuleset(chain('ip', 'nat', 'PREROUTING', 'prerouting', -100, 'accept', 'nat'), {
        chain: { family: 'ip', table: 'nat', name: 'DOCKER', handle: 9 },
      }),
    );
    expect(notOk(f)).toEqual(['tables.docker warning']);
    expect(byId(f, 'tables.docker')[0]!.fix).toContain('forward.services');
    // Docker's own FORWARD policy drop: the fix that survives Docker's restarts.
    const fwd = foreignTableChecks(
      withRuleset(chain('ip', 'filter', 'FORWARD', 'forward', 0, 'drop'), {
        chain: { family: 'ip', table: 'filter', name: 'DOCKER-USER', handle: 4 },
      }),
    );
    expect(notOk(fwd)).toEqual(['tables.foreign_drop_policy problem', 'tables.docker warning']);
    expect(byId(fwd, 'tables.foreign_drop_policy')[0]!.fix).toMatch(
      /^iptables -I DOCKER-USER -i LAN_INTERFACE -j ACCEPT/,
    );
  });

  it("nftsentry's table missing is a problem; an unreadable ruleset is one problem", () => {
    const f = foreignTableChecks(facts({ nft: { ...facts().nft, ruleset: [] } }));
    expect(notOk(f)).toEqual(['tables.nftsentry problem']);
    expect(byId(f, 'tables.nftsentry')[0]!.fix).toBe(
      'nftsentry -c /etc/nftsentry/nftsentry.yaml apply  # or: systemctl start nftsentry',
    );
    expect(notOk(foreignTableChecks(facts({ nft: { ...facts().nft, ruleset: { error: 'x' } } })))).toEqual([
      'tables.read problem',
    ]);
  });
});

describe('nftables.service and flush ruleset', () => {
  const debian = '#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n}\n';
  it('finds an uncommented flush ruleset only', () => {
    expect(hasFlushRuleset(debian)).toBe(true);
    expect(hasFlushRuleset('# flush ruleset\ntable inet filter {}\n  flush table inet filter')).toBe(false);
  });
  it('a warning only when systemd runs and nftables.service is enabled', () => {
    const conf = { path: '/etc/nftables.conf', text: debian };
    const sd = (nftablesEnabled: string | null, booted = true) => ({
      booted,
      nftablesEnabled,
      unitActive: null,
      unitEnabled: null,
    });
    expect(nftablesServiceCheck(facts({ nftablesConf: conf, systemd: sd('enabled') })).severity).toBe('warning');
    expect(nftablesServiceCheck(facts({ nftablesConf: conf, systemd: sd('disabled') })).severity).toBe('ok');
    expect(nftablesServiceCheck(facts({ nftablesConf: conf, systemd: sd('enabled', false) })).message).toContain(
      'systemd is not running here',
    );
    expect(nftablesServiceCheck(facts()).message).toBe(
      'no /etc/nftables.conf: nftables.service loads nothing that could flush table inet nftsentry',
    );
    const fix = nftablesServiceCheck(facts({ nftablesConf: conf, systemd: sd('enabled') })).fix;
    expect(fix).toMatch(/^sed -i 's\/\^\\s\*flush ruleset\//);
  });
});
