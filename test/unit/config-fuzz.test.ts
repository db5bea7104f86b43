/**
 * Whatever the document, config validation ends in a config or in E_CONFIG_INVALID naming a key
 * path (or saying the YAML, the encoding or the size is wrong): never another error, never the
 * safety net's "this is a bug", never a hang. The hostile configs from the issue are named cases;
 * the fuzzer (config-fuzzer.ts) generates the rest from the shipped configs with a fixed seed
 * (FUZZ_SEED and FUZZ_DOCS override it to explore).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeConfigBytes, MAX_CONFIG_BYTES } from '../../src/config/config-file.ts';
import { loadConfig, parseConfigText } from '../../src/config/config.ts';
import { isNftsentryError, type NftsentryError } from '../../src/errors.ts';
import { REPO, runCli } from '../helpers.ts';
import { ConfigFuzzer, type FuzzDoc, HOSTILE_CONFIGS } from './config-fuzzer.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_612);
const DOCS = Number(process.env.FUZZ_DOCS ?? 10_000);
/** Far above any document's time here (the slowest take ~1 s): only a hang or a blow-up reaches it. */
const DOC_DEADLINE_MS = 10_000;

const NAME = 'fuzz.yaml';
/** A problem line starts with a key path: a plain or quoted key, then `.`, `[` or `: `. */
const NAMES_A_PATH = /^(\(top level\)|[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*")(\.|\[|: )/;

type Outcome = 'valid' | 'invalid' | 'invalid-yaml' | 'refused-bytes';
const OUTCOMES: readonly string[] = ['valid', 'invalid', 'invalid-yaml', 'refused-bytes'];

/** Classifies the outcome, or returns why it is wrong. */
function judge(err: unknown): Outcome | string {
  if (!isNftsentryError(err, 'E_CONFIG_INVALID')) {
    return `threw ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
  }
  const e = err as NftsentryError;
  if (e.details?.bug) return `the safety net caught a bug: ${e.message}`;
  if (e.message.length > 64 * 1024) return `a message of ${e.message.length} characters`;
  const problems = (e.details?.problems ?? []) as string[];
  if (e.message.startsWith(`${NAME} is not valid YAML:\n`)) return problems.length > 0 ? 'invalid-yaml' : 'no problems';
  if (e.message.startsWith(`${NAME} is invalid:\n`)) {
    const bad = problems.find((p) => !NAMES_A_PATH.test(p));
    return problems.length === 0 ? 'no problems' : bad ? `a problem without a key path: ${bad}` : 'invalid';
  }
  if (/^fuzz\.yaml (is not UTF-8 text|is empty)/.test(e.message)) return 'refused-bytes';
  return `an unexpected message: ${e.message.slice(0, 300)}`;
}

function run(doc: FuzzDoc): Outcome | string {
  try {
    const text = doc.bytes ? decodeConfigBytes(doc.bytes, NAME) : doc.text!;
    parseConfigText(text, NAME);
    return 'valid';
  } catch (err) {
    return judge(err);
  }
}

function problemsOf(text: string): string[] {
  try {
    parseConfigText(text, NAME);
  } catch (err) {
    const verdict = judge(err);
    if (!['invalid', 'invalid-yaml'].includes(verdict)) throw new Error(verdict);
    return (err as NftsentryError).details!.problems as string[];
  }
  return [];
}

const SEED_FILES = [
  'samples/nftsentry.yaml',
  'samples/fleet.yaml',
  'docs/config-reference.yaml',
  'test/fixtures/full.yaml',
];

describe('hostile configs', () => {
  it.each(HOSTILE_CONFIGS.map((c) => [c.name, c] as const))('%s: refused by key path', (_, c) => {
    const problems = problemsOf(c.text);
    expect(
      problems.some((p) => c.path.test(p)),
      problems.join('\n'),
    ).toBe(true);
  });

  it('a trap port clash is still reported next to a failure elsewhere, and a broken service list skips it', () => {
    expect(
      problemsOf('services: { tcp: [22] }\nscan_detection: { trap_ports: { tcp: [22] } }\nallowlist: [nope]'),
    ).toEqual([
      'allowlist[0]: "nope" is not an IPv4 or IPv6 address or CIDR',
      'scan_detection.trap_ports.tcp[0]: trap port 22 is also an open tcp service; a trap port must be a port nobody should use',
    ]);
    expect(
      problemsOf('services: { tcp: [22, 70000], udp: [53] }\nscan_detection: { trap_ports: { tcp: [22], udp: [53] } }'),
    ).toEqual([
      'services.tcp[1]: Too big: expected number to be <=65535',
      'scan_detection.trap_ports.udp[0]: trap port 53 is also an open udp service; a trap port must be a port nobody should use',
    ]);
    expect(problemsOf('services: { tcp: [22], restricted: 5 }\nscan_detection: { trap_ports: { tcp: [22] } }')).toEqual(
      [
        'services.restricted: Invalid input: expected array, received number',
        'scan_detection.trap_ports.tcp[0]: trap port 22 is also an open tcp service; a trap port must be a port nobody should use',
      ],
    );
  });

  it('two sources on one path are named even when another key of theirs failed', () => {
    expect(
      problemsOf('sources: { inputs: [ { type: file, path: /a, poll_ms: 1 }, { type: file, name: b, path: /a } ] }'),
    ).toEqual([
      'sources.inputs[0].poll_ms: Too small: expected number to be >=10',
      'sources.inputs[1].path: inputs[0] uses this path too',
    ]);
  });

  it('the file: not UTF-8 (with the offset), over the size limit, a device that never ends', () => {
    expect(() =>
      decodeConfigBytes(Buffer.from([0x61, 0x3a, 0x20, 0xc3, 0xa9, 0xed, 0xa0, 0x80, 0x0a]), 'x.yaml'),
    ).toThrow('x.yaml is not UTF-8 text: byte 5 starts no valid UTF-8 character');
    expect(decodeConfigBytes(Buffer.from('\ufeffservices: {}\n'), 'x.yaml')).toBe('services: {}\n');
    const dir = mkdtempSync(join(tmpdir(), 'nftsentry-config-'));
    try {
      const big = join(dir, 'big.yaml');
      writeFileSync(big, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
      expect(() => loadConfig(big)).toThrow(/big\.yaml is larger than 512 KiB/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => loadConfig('/dev/zero')).toThrow(/\/dev\/zero is larger than 512 KiB/);
  });
});

describe('config fuzz', () => {
  it(`${DOCS} generated documents end in a config or E_CONFIG_INVALID naming a key path`, () => {
    const fuzzer = new ConfigFuzzer(
      SEED,
      SEED_FILES.map((f) => readFileSync(join(REPO, f), 'utf8')),
    );
    const counts = new Map<string, number>();
    let slowest = { ms: 0, index: -1, family: '' };
    let peakHeap = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < DOCS; i++) {
      const doc = fuzzer.next();
      const t0 = performance.now();
      const outcome = run(doc);
      const ms = performance.now() - t0;
      const wrong = !OUTCOMES.includes(outcome) ? outcome : ms > DOC_DEADLINE_MS ? `took ${ms} ms` : undefined;
      if (wrong) {
        const shown = doc.text ?? Buffer.from(doc.bytes!).toString('latin1');
        expect.fail(`seed ${SEED}, document ${i} (${doc.family}): ${JSON.stringify(shown.slice(0, 1500))}\n${wrong}`);
      }
      if (ms > slowest.ms) slowest = { ms, index: i, family: doc.family };
      peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size);
      const key = `${doc.family} ${outcome}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const total = performance.now() - started;
    console.log(
      `config fuzz: ${DOCS} documents (seed ${SEED}) in ${(total / 1000).toFixed(1)} s (${(process.cpuUsage(cpu).user / 1e6).toFixed(1)} s of CPU); ` +
        `slowest ${slowest.ms.toFixed(0)} ms (#${slowest.index}, ${slowest.family}); ` +
        `peak heap after a document ${(peakHeap / 2 ** 20).toFixed(0)} MiB\n  ` +
        [...counts]
          .sort()
          .map(([k, n]) => `${k}: ${n}`)
          .join('\n  '),
    );
    // Each family reaches both ends: the generator makes configs that pass as well as ones that fail.
    for (const family of ['tree', 'text', 'hostile', 'bytes']) {
      expect(counts.get(`${family} invalid`) ?? 0, family).toBeGreaterThan(0);
    }
    expect((counts.get('tree valid') ?? 0) + (counts.get('text valid') ?? 0)).toBeGreaterThan(DOCS / 50);
    expect(counts.get('text invalid-yaml') ?? 0).toBeGreaterThan(0);
  }, 120_000);
});

describe('nftsentry check on a hostile config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nftsentry-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // An nft on PATH that leaves a mark: `check` must fail on the config before it would start one.
  // (runCli keeps the host-namespace guard on, which would refuse nft too, with exit 1 and its own
  // message: exit 2 and the config's message say that the config stopped it.)
  const bin = join(dir, 'bin');
  const mark = join(dir, 'nft-ran');
  mkdirSync(bin);
  writeFileSync(join(bin, 'nft'), `#!/bin/sh\ntouch '${mark}'\nexit 1\n`);
  chmodSync(join(bin, 'nft'), 0o755);

  it.each([
    ['port 70000 with trap ports', 'services.tcp[0]: Too big: expected number to be <=65535'],
    ['an alias bomb', 'allowlist[0]: aliases repeat'],
    ['an alias with no anchor', 'services.tcp: alias "*ports" has no anchor'],
    ['a negative trap port', 'scan_detection.trap_ports.udp[0]: Too small'],
  ])('%s: exit 2, the key path on stderr, no stack trace, no nft', async (name, expected) => {
    const c = HOSTILE_CONFIGS.find((h) => h.name === name)!;
    const path = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(path, c.text);
    const r = await runCli(['-c', path, 'check'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${path} is invalid:\n  ${expected}`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toMatch(/unexpected error|TypeError|ReferenceError|RangeError/);
    expect(existsSync(mark)).toBe(false);
  });

  it('a file that is not UTF-8: exit 2 with the offset of the bad byte', async () => {
    const path = join(dir, 'latin1.yaml');
    writeFileSync(path, Buffer.concat([Buffer.from('allowlist: ["caf'), Buffer.from([0xe9]), Buffer.from('"]\n')]));
    const r = await runCli(['-c', path, 'check'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toBe(`nftsentry check: ${path} is not UTF-8 text: byte 16 starts no valid UTF-8 character`);
    expect(existsSync(mark)).toBe(false);
  });
});
