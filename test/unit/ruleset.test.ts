import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfigText } from '../../src/config/config.ts';
import { renderRuleset, loadTemplates, expandTemplate } from '../../src/nft/ruleset.ts';
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
    const a = parseConfigText('services: { tcp: [443, 22, 80] }\nallowlist: ["2001:db8::/32", 198.51.100.0/24, 198.51.100.7]');
    const b = parseConfigText('services: { tcp: [22, 80, 443] }\nallowlist: [198.51.100.0/24, "2001:db8::/32"]');
    expect(renderRuleset(a, templates)).toBe(renderRuleset(b, templates));
  });

  it('switches features off by leaving their rules out', () => {
    const off = renderRuleset(
      parseConfigText('icmp: { echo: false }\nscan_detection: { enabled: false }\nrate_limits: { udp_new: { enabled: false, rate: 1/second, burst: 1 } }'),
      templates,
    );
    expect(off).not.toContain('jump scan_detect');
    expect(off).not.toContain('echo-request accept');
    expect(off).not.toContain('@rl_udp4');
    expect(off).toContain('@rl_syn4');
  });

  it('template errors are caught', () => {
    expect(() => expandTemplate({ name: 't', text: '${nope}' }, {}, {})).toThrow(/unknown placeholder "nope"/);
    expect(() => expandTemplate({ name: 't', text: '#if x\n' }, { x: true }, {})).toThrow(/#if without #endif/);
    expect(() => expandTemplate({ name: 't', text: '#if y\n#endif' }, {}, {})).toThrow(/unknown flag "y"/);
  });
});
