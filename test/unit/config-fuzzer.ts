/**
 * A generator of hostile config documents for config-fuzz.test.ts, from a seeded PRNG so that a
 * failure is reproduced by its seed and index. Four families:
 * - tree: a seed config's value with 1-4 mutations (wrong types, out-of-range and odd numbers,
 *   unknown and odd keys, deleted keys, shared and cyclic objects that become anchors and aliases,
 *   grown arrays, long and odd strings, raw YAML tokens such as tags and deep nesting), written
 *   back in block or flow style with a random indent;
 * - text: a seed's or a tree document's text cut, spliced, with lines duplicated or swapped, odd
 *   characters, directives, second documents and merge keys inserted;
 * - hostile: documents built to hurt (alias bombs, cycles, deep nesting, many keys, big lists,
 *   alias fan-out into nested lists, long strings, multi-document streams);
 * - bytes: a document's UTF-8 with bytes that are not UTF-8 (invalid, overlong, surrogates,
 *   truncated sequences, NUL, UTF-16 byte order marks).
 */
import { parse, stringify } from 'yaml';

/** sfc32: small, fast, and good enough to spread mutations. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4_294_967_296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A size from `common`, or now and then (0.5%) from `rare`: big documents cost time, so they stay few. */
  size(common: readonly number[], rare: readonly number[]): number {
    return this.pick(this.chance(0.005) ? rare : common);
  }
}

export interface FuzzDoc {
  family: 'tree' | 'text' | 'hostile' | 'bytes';
  text?: string;
  bytes?: Uint8Array;
}

const NUMBERS = [-1, 0, 1, 65_535, 65_536, 70_000, -70_000, 4_294_967_296, 2 ** 53, -(2 ** 53), 22.5, 1e21, -0];
/** YAML tokens written into a document as they are, in place of a value. */
const RAW = [
  '.nan',
  '.inf',
  '-.inf',
  '1e309',
  '-1e309',
  '123456789012345678901234567890',
  '0x7fffffffffffffffffff',
  '0o777',
  '0x16',
  '1_000',
  '~',
  'null',
  'yes',
  '""',
  "''",
  '!!binary aGVsbG8=',
  '!!str 22',
  '!!int "22"',
  '!!int abc',
  '!!float 1',
  '!!bool maybe',
  '!!js/function "function () {}"',
  '!!python/object/apply:os.system ["ls"]',
  '!foo bar',
  '!<tag:example.com,2000:x> y',
  '!!set { a, b }',
  '!!omap [ a: 1 ]',
  '!!pairs [ a: 1 ]',
  '!!timestamp 2001-12-14',
  '!!map [1]',
  '!!seq { a: 1 }',
  '2001-12-14t21:59:43.10-05:00',
  '*nowhere',
  '&dangling 22',
  '"\\u0000"',
  '"\\e[31mred"',
  '"\\ud800"',
  '"\\u202egnp"',
  '"\\x85"',
  '[]',
  '{}',
  '[[[]]]',
  '{ a: { b: { c: 1 } } }',
  '[ 22, "8000-8080", 70000, -1 ]',
  '"65535-1"',
  '"0-0"',
  '"1-65536"',
  '"99999999999-1"',
];
const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u001b]0;title\u0007',
  '\ud800',
  '\udc00x',
  '\u202e',
  '\u2028',
  '\ufeff',
  'é\u0301',
  '😀',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '10.0.0.1/8',
  '::ffff:1.2.3.4',
  'fe80::1%eth0',
  '1.2.3.4/-1',
  '/run/../etc/passwd',
  '8000-8080',
  '10/fortnight',
  '1h30x',
  '(a+)+$',
  '[',
  '__proto__',
];
const KEYS = [
  '__proto__',
  'constructor',
  'toString',
  '<<',
  '',
  ' ',
  'tcp ',
  'TCP',
  'services',
  '0',
  '-1',
  '😀',
  'a.b',
  'x[0]',
];
const LINES = [
  '<<: *base',
  '<<: 5',
  '<<: [ *base, x ]',
  '!!merge <<: *base',
  'base: &base { tcp: [22] }',
  '&a',
  '*a',
  '---',
  '...',
  '%YAML 1.1',
  '%TAG ! tag:example.com,2000:',
  '? [a, b]',
  ': x',
  '\t- 1',
  '- ',
  '#',
  'services: {}',
  '"\\',
  "'",
  '|',
  '>-',
  '  ? ',
  'x: !!binary |',
];
const CHARS = [
  ':',
  '-',
  '[',
  ']',
  '{',
  '}',
  '&',
  '*',
  '!',
  '|',
  '>',
  '#',
  '"',
  "'",
  '\t',
  '\n',
  ' ',
  '%',
  '@',
  '`',
  ',',
  '?',
  '\u0000',
  '\u0085',
  '\u2028',
  '\ufeff',
  '\ud800',
  '😀',
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const asMap = (v: Json | undefined): { [k: string]: Json } =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};

export class ConfigFuzzer {
  private readonly rng: Rng;
  private readonly seeds: Array<{ text: string; value: Json }>;
  private raw: string[] = [];

  constructor(seed: number, seedTexts: readonly string[]) {
    this.rng = new Rng(seed);
    // The samples' comments make up most of their text: the tree family writes values back without them.
    this.seeds = seedTexts.map((text) => ({ text, value: parse(text) as Json }));
  }

  next(): FuzzDoc {
    const r = this.rng.next();
    if (r < 0.55) return { family: 'tree', text: this.tree() };
    if (r < 0.8) return { family: 'text', text: this.textMutation() };
    if (r < 0.95) return { family: 'hostile', text: this.hostile() };
    return { family: 'bytes', bytes: this.corruptBytes() };
  }

  // -- tree ------------------------------------------------------------------------------------

  private tree(): string {
    const value = this.seedValue();
    this.raw = [];
    const count = 1 + this.rng.int(4);
    for (let i = 0; i < count; i++) this.mutate(value);
    let text = stringify(value, {
      collectionStyle: this.rng.pick(['block', 'flow', 'any'] as const),
      indent: 1 + this.rng.int(6),
      lineWidth: this.rng.pick([0, 40, 80]),
    });
    // Placeholders stand for raw tokens; a flow or block style both leave them plain.
    this.raw.forEach((token, i) => {
      text = text.replaceAll(`zqzRAW${i}zqz`, token);
    });
    return text;
  }

  /**
   * A seed's value, whole or (mostly) one to three of its sections: every key has a default, so a
   * part of a config is a config, and a small document leaves time for more of them.
   */
  private seedValue(): Json {
    const seed = this.rng.pick(this.seeds).value as { [k: string]: Json };
    if (this.rng.chance(0.15)) return structuredClone(seed);
    const keys = Object.keys(seed);
    const part: { [k: string]: Json } = {};
    for (let i = 1 + this.rng.int(3); i > 0; i--) {
      const k = this.rng.pick(keys);
      part[k] = structuredClone(seed[k]!);
    }
    return part;
  }

  private placeholder(token: string): string {
    this.raw.push(token);
    return `zqzRAW${this.raw.length - 1}zqz`;
  }

  /** Every container (map or list) in the value, with its path. */
  private containers(value: Json): Array<Json[] | { [k: string]: Json }> {
    const out: Array<Json[] | { [k: string]: Json }> = [];
    const stack: Json[] = [value];
    const seen = new Set<unknown>();
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (v === null || typeof v !== 'object' || seen.has(v)) continue;
      seen.add(v);
      out.push(v);
      stack.push(...(Array.isArray(v) ? v : Object.values(v)));
    }
    return out;
  }

  private hostileValue(): Json {
    const rng = this.rng;
    switch (rng.int(8)) {
      case 0:
        return rng.pick(NUMBERS);
      case 1:
        return this.placeholder(rng.pick(RAW));
      case 2:
        return rng.pick(ODD_STRINGS);
      case 3:
        return rng.pick([{}, [], true, null, 'x', [[]], { tcp: [22] }] as Json[]);
      case 4:
        return rng.pick(['x', '/', '1', '😀']).repeat(rng.size([65, 300], [5000, 70_000]));
      case 5: {
        const depth = rng.size([5, 31, 32, 33, 100], [1000, 3000]);
        return this.placeholder(
          rng.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`,
        );
      }
      case 6:
        return Array.from({ length: rng.size([3, 30], [1025, 5000]) }, () => rng.pick(NUMBERS));
      default:
        return rng.pick([22, '8000-8080', 23, 445, '1-65535', 70_000, -1, 0]);
    }
  }

  private mutate(root: Json): void {
    const rng = this.rng;
    const all = this.containers(root);
    const c = rng.pick(all);
    const keys = Array.isArray(c) ? c.map((_, i) => String(i)) : Object.keys(c);
    const set = (k: string, v: Json) => {
      if (Array.isArray(c)) c[Number(k)] = v;
      else c[k] = v;
    };
    const op = rng.int(9);
    if (op === 0 && !Array.isArray(c)) {
      c[rng.chance(0.5) ? rng.pick(KEYS) : `${rng.pick(keys) ?? 'x'}${rng.pick(['s', '_', 'X'])}`] =
        this.hostileValue();
    } else if (op === 1 && keys.length > 0) {
      const k = rng.pick(keys);
      if (Array.isArray(c)) c.splice(Number(k), 1);
      else delete c[k];
    } else if (op === 2 && keys.length > 0) {
      // A shared object: written as an anchor and aliases; sometimes a cycle.
      set(rng.pick(keys), rng.chance(0.2) ? (c as Json) : rng.pick(all));
    } else if (op === 3 && Array.isArray(c) && c.length > 0) {
      const times = rng.size([2], [10, 1100]);
      c.push(...Array.from({ length: Math.min(times * c.length, 1100) }, () => structuredClone(rng.pick(c))));
    } else if (op === 4 && root !== null && typeof root === 'object' && !Array.isArray(root)) {
      // The reported crash: a bad service port together with trap ports.
      const port = rng.pick([70_000, -1, 0, 65_536, 22.5, '70000-1', 22]);
      root.services = { ...asMap(root.services), [rng.pick(['tcp', 'udp'])]: [port, 80] };
      const trap = { tcp: [23, rng.pick([80, -5, 70_000])], udp: [rng.pick([53, 0])] };
      root.scan_detection = { ...asMap(root.scan_detection), trap_ports: trap };
    } else if (keys.length > 0) {
      set(rng.pick(keys), this.hostileValue());
    }
  }

  // -- text ------------------------------------------------------------------------------------

  private textMutation(): string {
    const rng = this.rng;
    let text = rng.chance(0.08) ? rng.pick(this.seeds).text : this.tree();
    const count = 1 + rng.int(3);
    for (let i = 0; i < count; i++) {
      const at = rng.int(text.length + 1);
      const lines = text.split('\n');
      const line = rng.int(lines.length);
      switch (rng.int(9)) {
        case 0:
        case 1:
          text = text.slice(0, at);
          break;
        case 2:
          text = text.slice(0, at) + text.slice(at + rng.int(200));
          break;
        case 3:
          lines.splice(line, 0, lines[line]!);
          text = lines.join('\n');
          break;
        case 4: {
          const other = rng.int(lines.length);
          [lines[line], lines[other]] = [lines[other]!, lines[line]!];
          text = lines.join('\n');
          break;
        }
        case 5:
          lines.splice(line, 0, ' '.repeat(rng.int(6)) + rng.pick(LINES));
          text = lines.join('\n');
          break;
        case 6:
          text = text.slice(0, at) + rng.pick(CHARS).repeat(1 + rng.int(3)) + text.slice(at);
          break;
        case 7:
          text =
            rng.pick([
              '%YAML 1.1\n---\nbase: &base 5\nx: { <<: *base }\n',
              '%YAML 1.1\n---\n',
              '%YAML 1.2\n---\n',
              '%YAML 1.3\n---\n',
              '\ufeff',
              '--- !!map\n',
              '%FOO bar\n---\n',
            ]) + text;
          break;
        default:
          text += rng.pick([
            '\n---\nservices: {}\n',
            '\n...\n',
            '\n--- |\n  x\n',
            '\nbase: &b { tcp: [22] }\nx:\n  <<: *b\n',
          ]);
      }
    }
    return text;
  }

  // -- hostile ---------------------------------------------------------------------------------

  private hostile(): string {
    const rng = this.rng;
    // A value placed at a known key, an unknown one, or inside a list of objects.
    const [top, ...inner] = rng.pick(['services.tcp', 'allowlist', 'zzz', 'policy.rules', 'sources.inputs']).split('.');
    const at = (value: string) => `${top}: ${inner.reduceRight((v, k) => `{ ${k}: ${v} }`, value)}\n`;
    switch (rng.int(10)) {
      case 0: {
        // Billion laughs: each level repeats the one before `width` times.
        const width = 2 + rng.int(10);
        const depth = 2 + rng.int(10);
        const lines = ['l0: &l0 [ "lol" ]'];
        for (let d = 1; d <= depth; d++)
          lines.push(
            `l${d}: &l${d} [ ${Array(width)
              .fill(`*l${d - 1}`)
              .join(', ')} ]`,
          );
        return `${lines.join('\n')}\n${at(`*l${depth}`)}`;
      }
      case 1:
        return rng.pick([
          'services: &a { tcp: *a }',
          'services: &a [ *a ]',
          'policy: &p { rules: [ { name: x, match: *p } ] }',
          'a: &a { b: &b { c: *a } }',
          'allowlist: &l [ 10.0.0.0/8, *l ]',
        ]);
      case 2: {
        const depth = rng.size([10, 32, 33, 100], [900, 2000, 20_000]);
        if (rng.chance(0.5)) return at('['.repeat(depth) + ']'.repeat(depth));
        let s = `${top}:\n`;
        for (let i = 1; i < Math.min(depth, 300); i++) s += `${' '.repeat(i)}- \n`;
        return s;
      }
      case 3: {
        const n = rng.size([10, 100], [1000, 5000]);
        return `services:\n${Array.from({ length: n }, (_, i) => `  k${rng.chance(0.1) ? 0 : i}: ${i}`).join('\n')}\n`;
      }
      case 4: {
        const n = rng.size([10, 100], [1025, 5000, 20_000]);
        return `allowlist:\n${Array.from({ length: n }, (_, i) => `  - 10.${(i >> 8) & 255}.${i & 255}.0/24`).join('\n')}\n`;
      }
      case 5: {
        // Fan-out: many aliases to a rule whose lists are long, so the schema would walk their product.
        const sids = Array.from({ length: rng.size([10, 100], [4096]) }, (_, i) => i + 1).join(', ');
        const refs = Array(rng.size([10, 50], [300, 3000]))
          .fill('*r')
          .join(', ');
        return `r0: &r { name: x, match: { sids: [ ${sids} ] } }\npolicy: { rules: [ ${refs} ] }\n`;
      }
      case 6:
        return `store: { path: "/${'a'.repeat(rng.size([4096, 5000], [100_000, 1_000_000]))}" }\n`;
      case 7:
        return `services: { tcp: [22] }\n---\n${rng.pick(['services: {}', '', '!!binary aGk=', '--- ---'])}\n`;
      case 8:
        return rng.pick(HOSTILE_CONFIGS).text;
      default:
        return `${rng.pick(['~', '5', '"x"', '[]', '!!set {}', '&a', '*a', '? a', '- -', '{', '"', '---', '... #'])}\n`;
    }
  }

  // -- bytes -----------------------------------------------------------------------------------

  private corruptBytes(): Uint8Array {
    const rng = this.rng;
    const base = Buffer.from(rng.chance(0.1) ? rng.pick(this.seeds).text : this.tree(), 'utf8');
    const bad = rng.pick([
      [0xff],
      [0x80],
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
      [0x00],
      [0xfe, 0xff],
      [0xff, 0xfe],
      [0xf0],
    ]);
    const at = rng.int(base.length + 1);
    return Buffer.concat([base.subarray(0, at), Buffer.from(bad), base.subarray(at)]);
  }
}

/** The hostile configs tried on the issue, and more of their kind: each must be refused by name. */
export const HOSTILE_CONFIGS: ReadonlyArray<{ name: string; text: string; path: RegExp }> = [
  {
    name: 'port 70000 with trap ports',
    text: 'services: { tcp: [70000] }\nscan_detection: { trap_ports: { tcp: [23] } }\n',
    path: /^services\.tcp\[0\]: /,
  },
  { name: 'a negative service port', text: 'services: { tcp: [-5, 22] }\n', path: /^services\.tcp\[0\]: / },
  {
    name: 'a negative trap port',
    text: 'services: { tcp: [22] }\nscan_detection: { trap_ports: { udp: [-1] } }\n',
    path: /^scan_detection\.trap_ports\.udp\[0\]: /,
  },
  {
    name: 'port 0 in a restricted service',
    text: 'services: { restricted: [ { proto: tcp, ports: [0], from: [10.0.0.0/8] } ] }\n',
    path: /^services\.restricted\[0\]\.ports\[0\]: /,
  },
  {
    name: 'an alias bomb',
    text: `a: &a [x, x, x, x, x, x, x, x, x, x]\n${['b', 'c', 'd', 'e'].map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcd'[i]}`).join(', ')}]`).join('\n')}\nallowlist: [${Array(10).fill('*e').join(', ')}]\n`,
    path: /^allowlist\[0\]: aliases repeat \d+ nodes, more than the 100000 allowed/,
  },
  {
    name: 'an alias with no anchor',
    text: 'services: { tcp: *ports }\n',
    path: /^services\.tcp: alias "\*ports" has no anchor/,
  },
  {
    name: 'an alias inside its own anchor',
    text: 'services: &s { tcp: [22], restricted: [ *s ] }\n',
    path: /^services\.restricted\[0\]: alias "\*s" is inside/,
  },
  {
    name: 'nesting 40 deep',
    text: `allowlist: ${'['.repeat(40)}${']'.repeat(40)}\n`,
    path: /^allowlist(\[0\]){31}: nested more than 32/,
  },
  {
    name: 'nesting beyond the parser',
    text: `allowlist: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
    path: /nested too deeply for the YAML parser/,
  },
  { name: '1e309 as a port', text: 'services: { tcp: [1e309] }\n', path: /^services\.tcp\[0\]: a port/ },
  {
    name: '.nan as a duration',
    text: 'scan_detection: { ban_timeout: .nan }\n',
    path: /^scan_detection\.ban_timeout: a duration/,
  },
  {
    name: 'a binary path',
    text: 'store: { path: !!binary L3Zhci9saWIvbg== }\n',
    path: /^store\.path: binary data is not allowed/,
  },
  {
    name: 'a JavaScript function tag',
    text: 'store: { path: !!js/function "function () { return 1 }" }\n',
    path: /Unresolved tag/,
  },
  {
    name: 'a set in place of a map',
    text: 'services: !!set { tcp, udp }\n',
    path: /^services: the tag "!!set" is not allowed/,
  },
  {
    name: 'a YAML 1.1 merge of a scalar',
    text: '%YAML 1.1\n---\nservices:\n  <<: 5\n',
    path: /^YAML 1\.1 is not read/,
  },
  {
    name: 'YAML 1.1 octal and sexagesimal ports',
    text: '# 022 is 18 and 1:20 is 80 in YAML 1.1\n%YAML 1.1\n---\nservices: { tcp: [022, 1:20] }\n',
    path: /^YAML 1\.1 is not read: .* at line 2, column 1$/,
  },
  {
    name: 'a merge key',
    text: 'base: &b { tcp: [22] }\nservices:\n  <<: *b\n',
    path: /^services\."<<": unknown key \(YAML merge keys are not supported/,
  },
  {
    name: 'a timestamp for a port',
    text: 'services: { tcp: [!!timestamp 2001-12-14] }\n',
    path: /^services\.tcp\[0\]: a timestamp is not allowed/,
  },
  {
    name: 'a duplicated key',
    text: 'services: { tcp: [22] }\nallowlist: []\nservices: { tcp: [80] }\n',
    path: /^services: duplicate key/,
  },
  {
    name: 'two documents',
    text: 'services: { tcp: [22] }\n---\nservices: { tcp: [80] }\n',
    path: /^a second document/,
  },
  {
    name: 'a terminal escape in a key',
    text: 'services: { "\\e]0;owned\\a": [22] }\n',
    path: /^services\."\\u001b\]0;owned\\u0007": unknown key/,
  },
  {
    name: 'a 100,000-character string',
    text: `allowlist: ["${'1'.repeat(100_000)}"]\n`,
    path: /^allowlist\[0\]: "1{64}…\(100000 characters\)" is not an IPv4/,
  },
];
