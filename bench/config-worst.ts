/**
 * What the largest config file the loader accepts (MAX_CONFIG_BYTES) costs, for shapes of text
 * that cost the YAML parser the most, valid or not.
 *
 *   node_modules/.bin/node bench/config-worst.ts
 *
 * Each case runs parseConfigText in its own child process and prints its time, its peak RSS
 * (the process's own ~60 MiB included) and the outcome. docs/config.md has the figures.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MAX_CONFIG_BYTES } from '../src/config/config-file.ts';
import { parseConfigText } from '../src/config/config.ts';

const SIZE = MAX_CONFIG_BYTES - 64;

const CASES: Record<string, () => string> = {
  'a block list of prefixes (valid)': () => `allowlist:\n${'  - 10.0.0.0/8\n'.repeat(SIZE / 16)}`,
  'a flow list of prefixes': () => `allowlist: [${'10.0.0.0/8,'.repeat(SIZE / 11)}]`,
  'unknown keys': () => Array.from({ length: SIZE / 12 }, (_, i) => `k${i}: 1`).join('\n'),
  'one duplicated key': () => `services:\n${'  tcp: []\n'.repeat(SIZE / 10)}`,
  'tab-indented lines (an error each)': () => '\t- x\n'.repeat(SIZE / 5),
  'compact nested mappings (an error each)': () => 'a: b: c\n'.repeat(SIZE / 8),
  'one-element flow lists': () => `b: [${'[1],'.repeat(SIZE / 4 - 4)}]`,
  aliases: () => `a: &a [1]\nb: [${'*a,'.repeat(SIZE / 3 - 8)}]`,
  'stray ]': () => ']'.repeat(SIZE),
  'a quoted string': () => `a: "${'x'.repeat(SIZE - 8)}"`,
};

const child = process.argv[2];
if (child) {
  const text = CASES[child]!();
  const started = performance.now();
  let outcome = 'valid';
  try {
    parseConfigText(text, 'bench.yaml');
  } catch (err) {
    outcome = (err as { code?: string }).code ?? `threw ${String(err)}`;
  }
  const s = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`| ${child} | ${s} s | ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB | ${outcome} |`);
} else {
  console.log(`${MAX_CONFIG_BYTES / 1024} KiB of text:\n\n| text | time | peak RSS | outcome |\n|---|---|---|---|`);
  for (const name of Object.keys(CASES)) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], { encoding: 'utf8' });
    process.stdout.write(r.stdout || `| ${name} | failed: ${r.stderr.split('\n')[0]} | | |\n`);
  }
}
