/**
 * The config reference (docs/config-reference.yaml) is generated from the schema and up to date;
 * every key of the schema has a description and appears in it; its uncommented part is a valid
 * config, and so is every key it shows commented out. The shipped sample is a short valid start.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configReference, REFERENCE_PATH } from '../../scripts/config-reference.ts';
import { configSchema, loadConfig, parseConfigText } from '../../src/config/config.ts';
import { allPaths, schemaKeys } from '../../src/config/schema-walk.ts';
import { inline } from '../../src/config/config-reference.ts';
import { loadTemplates, renderRuleset } from '../../src/nft/ruleset.ts';
import { REPO } from '../helpers.ts';

const reference = readFileSync(join(REPO, REFERENCE_PATH), 'utf8');
const SAMPLE = join(REPO, 'samples/nftsentry.yaml');

/** The reference with every commented-out key and list item turned on (description lines dropped). */
function everythingOn(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/^(\s*)# (- )?([a-z_0-9]+:( |$))/, '$1$2$3'))
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
}

/** Whether a schema path (`a.b[].c`, `a.b[variant].c`) is present in a parsed document. */
function present(doc: unknown, path: string): boolean {
  const [head, ...rest] = path.split('.');
  const m = /^([a-z_0-9]+)(?:\[([a-z_]*)\])?$/.exec(head!)!;
  const value = (doc as Record<string, unknown> | undefined)?.[m[1]!];
  if (value === undefined) return false;
  if (m[2] === undefined) return rest.length === 0 || present(value, rest.join('.'));
  const items = (value as unknown[]).filter((i) => m[2] === '' || (i as { type?: string }).type === m[2]);
  return items.some((i) => rest.length === 0 || present(i, rest.join('.')));
}

describe('the config reference', () => {
  it('is what `npm run config-reference` generates from the schema now', () => {
    const r = configReference();
    expect(reference, 'docs/config-reference.yaml is stale: run `npm run config-reference`').toBe(r.text);
  });

  it('describes every key of the schema, and nothing that is not one', () => {
    const r = configReference();
    expect(r.undocumented, 'add these to src/config/config-docs.ts').toEqual([]);
    expect(r.unused, 'these are no longer keys: remove them from src/config/config-docs.ts').toEqual([]);
  });

  it('shows every key, commented out or not, and is a valid config either way', () => {
    // Keys in milliseconds are written as durations without `_ms` (duration-keys.ts).
    const paths = allPaths(schemaKeys(configSchema)).map((p) => p.replace(/_ms$/, ''));
    expect(paths.length).toBeGreaterThan(100);
    expect(() => parseConfigText(reference, 'reference')).not.toThrow();
    const on = everythingOn(reference);
    const doc = parse(on) as unknown;
    expect(paths.filter((p) => !present(doc, p))).toEqual([]);
    // Turned on, the commented-out keys are valid too, except that api.socket replaces host/port.
    expect(() => parseConfigText(on, 'reference, everything on')).not.toThrow();
    expect(parseConfigText(on).sources.inputs.map((i) => i.type)).toEqual([
      'unix_stream',
      'unix_dgram',
      'file',
      'stdin',
      'redis',
    ]);
  });

  it('quotes what YAML would read otherwise', () => {
    expect(inline(['ET SCAN', '0660', 'true', '1h', '2001:db8::/32', 'a, b', ''])).toBe(
      '[ET SCAN, "0660", "true", 1h, "2001:db8::/32", "a, b", ""]',
    );
    for (const v of [['0660', 'yes', '1h', '203.0.113.0/24', 'x: y', '#x']]) {
      expect(parse(inline(v))).toEqual(v);
    }
  });

  it('has no notes about the project history', () => {
    for (const text of [reference, readFileSync(SAMPLE, 'utf8')]) {
      expect(text).not.toMatch(/\bissue \d|older version|used to|previously|design card/i);
    }
  });
});

describe('the sample config', () => {
  const text = readFileSync(SAMPLE, 'utf8');

  it('is short: at most 45 lines that are not blank or comments', () => {
    const lines = text.split('\n').filter((l) => !/^\s*(#|$)/.test(l));
    expect(lines.length).toBeLessThanOrEqual(45);
  });

  it('sets the allowlist, home networks, services, the Suricata source and the API, and renders', () => {
    const raw = parse(text) as Record<string, unknown>;
    expect(Object.keys(raw).sort()).toEqual(['allowlist', 'api', 'home_networks', 'policy', 'services', 'sources']);
    const config = loadConfig(SAMPLE);
    expect(config.allowlist.length).toBeGreaterThan(0);
    expect(config.sources.inputs).toMatchObject([
      { type: 'unix_stream', format: 'eve', path: '/run/nftsentry/eve.sock' },
    ]);
    expect(renderRuleset(config, loadTemplates())).toContain('table inet nftsentry');
  });
});
