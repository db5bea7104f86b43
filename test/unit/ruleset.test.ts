import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfigText } from '../../src/config/config.ts';
import { renderRuleset, loadTemplates, expandTemplate } from '../../src/nft/ruleset.ts';
import { outdatedSets } from '../../src/nft/apply.ts';
import { REPO } from '../helpers.ts';

const templates = loadTemplates();

function golden(name: string, actual: string) {
  const file = join(REPO, 'test/golden', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('render', () => {
  it('is stable for a config using every feature (golden file)', () => {
    golden('full.nft', renderRuleset(loadConfig(join(REPO, 'test/fixtures/full.yaml')), templates));
  });

  it('is stable for the default config (golden file)', () => {
    golden('default.nft', renderRuleset(parseConfigText(''), templates));
  });

  it('is deterministic whatever the order of the config lists', () => {
    const a = parseConfigText(
      'services: { tcp: [443, 22, 80] }\nallowlist: ["2001:db8::/32", 198.51.100.0/24, 198.51.100.7]',
    );
    const b = parseConfigText('services: { tcp: [22, 80, 443] }\nallowlist: [198.51.100.0/24, "2001:db8::/32"]');
    expect(renderRuleset(a, templates)).toBe(renderRuleset(b, templates));
  });

  it('switches features off by leaving their rules out', () => {
    const off = renderRuleset(
      parseConfigText(
        'icmp: { echo: false }\nscan_detection: { enabled: false }\nrate_limits: { udp_new: { enabled: false, rate: 1/second, burst: 1 } }',
      ),
      templates,
    );
    expect(off).not.toContain('jump scan_detect');
    expect(off).not.toContain('echo-request accept');
    expect(off).not.toContain('@rl_udp4');
    expect(off).toContain('@rl_syn4');
  });

  it('an upgrade empties the chains and deletes the old sets before the declarations, and carries their elements at the end', () => {
    const config = parseConfigText('');
    const plain = renderRuleset(config, templates);
    const up = renderRuleset(config, templates, {
      sets: ['bannet4'],
      chains: ['prerouting', 'input'],
      elements: ['add element inet nftsentry bannet4 { 198.51.100.0/24 . 0-255 timeout 60s }'],
    });
    const lines = up.split('\n');
    const at = (l: string) => lines.indexOf(l);
    expect(at('flush chain inet nftsentry prerouting')).toBeLessThan(at('delete set inet nftsentry bannet4'));
    expect(at('flush chain inet nftsentry input')).toBeLessThan(at('delete set inet nftsentry bannet4'));
    expect(at('delete set inet nftsentry bannet4')).toBeLessThan(at('table inet nftsentry {'));
    expect(lines.slice(-3)).toEqual([
      '# Elements of the replaced sets.',
      'add element inet nftsentry bannet4 { 198.51.100.0/24 . 0-255 timeout 60s }',
      '',
    ]);
    // The rest is the plain script; with nothing to replace, the script is the plain one.
    const start = lines.findIndex((l) => l.startsWith('# Upgrade:'));
    const rest = [...lines.slice(0, start), ...lines.slice(at('delete set inet nftsentry bannet4') + 2, -3)];
    expect(rest.join('\n')).toBe(plain);
    expect(renderRuleset(config, templates, { sets: [], chains: ['prerouting'], elements: [] })).toBe(plain);
  });

  it('finds the ban sets whose kernel type is older or that count nothing (nft -j -t list table), and the chains', () => {
    const counter = [{ counter: null }];
    const json = (t4: unknown, t6: unknown, ban4Stmt: unknown = counter) => ({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'inet', name: 'nftsentry' } },
        { set: { name: 'ban4', type: 'ipv4_addr', ...(ban4Stmt ? { stmt: ban4Stmt } : {}) } },
        { set: { name: 'bannet4', type: t4, stmt: counter } },
        { set: { name: 'bannet6', type: t6, stmt: counter } },
        { chain: { name: 'prerouting', hook: 'prerouting' } },
        { chain: { name: 'tcp_flags' } },
      ],
    });
    expect(outdatedSets(json(['ipv4_addr', 'inet_proto'], ['ipv6_addr', 'inet_proto'], null)).sets).toEqual(['ban4']);
    expect(outdatedSets(json('ipv4_addr', 'ipv6_addr'))).toEqual({
      sets: ['bannet4', 'bannet6'],
      chains: ['prerouting', 'tcp_flags'],
    });
    expect(outdatedSets(json(['ipv4_addr', 'inet_proto'], 'ipv6_addr')).sets).toEqual(['bannet6']);
    expect(outdatedSets(json(['ipv4_addr', 'inet_proto'], ['ipv6_addr', 'inet_proto'])).sets).toEqual([]);
  });

  it('template errors are caught', () => {
    expect(() => expandTemplate({ name: 't', text: '${nope}' }, {}, {})).toThrow(/unknown placeholder "nope"/);
    expect(() => expandTemplate({ name: 't', text: '#if x\n' }, { x: true }, {})).toThrow(/#if without #endif/);
    expect(() => expandTemplate({ name: 't', text: '#if y\n#endif' }, {}, {})).toThrow(/unknown flag "y"/);
  });
});
