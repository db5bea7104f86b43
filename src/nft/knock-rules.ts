/**
 * Port knocking (`knock`) as nft rules: nothing but the kernel's own sets, no daemon involved.
 *
 * `knock4`/`knock6` hold `source . the port it must knock on next`, each element for
 * `stage_timeout`. A knock is a new packet of `knock.protocol` to one of the sequence's ports and
 * goes to chain `knock`:
 *   1. a knock whose `source . port` is not in the set (a wrong port, a port out of order, or the
 *      right one too late: its element timed out) deletes every state of that source: it starts
 *      over (the first port always starts a new sequence, it is never an expected "next");
 *   2. the first port puts `source . second port` in the set;
 *   3. each later port, when it was expected, replaces its element by `source . next port`;
 *   4. the last one puts the source in `knock_open4`/`knock_open6` for `open_for`;
 *   5. every knock is dropped and counted (drop_knock): the knock ports read filtered, and a knock
 *      never reaches scan detection, so a knocker is never banned for touching them.
 * The input chain accepts new connections to the guarded ports (TCP and UDP) from a source in
 * `knock_open4/6`; established ones pass as every established connection does, so closing the
 * window does not cut a session. Pure.
 */
import type { Config } from '../config/config.ts';
import type { KnockConfig } from '../config/knock-schema.ts';

type Range = readonly [number, number];

const portText = ([a, b]: Range) => (a === b ? String(a) : `${a}-${b}`);

const FAMILIES = [
  { nfproto: 'ipv4', saddr: 'ip saddr', state: 'knock4', open: 'knock_open4' },
  { nfproto: 'ipv6', saddr: 'ip6 saddr', state: 'knock6', open: 'knock_open6' },
] as const;

/** The input chain's rules: knocks to chain `knock`; guarded ports open to admitted sources. */
export function knockInputRules(knock: KnockConfig | undefined): string {
  if (!knock) return '\t\t# (no knock)';
  const guarded = knock.ports.flatMap((r) => ['tcp', 'udp'].map((p) => `${p} . ${portText(r)}`));
  return [
    `\t\tmeta l4proto ${knock.protocol} th dport { ${knock.sequence.join(', ')} } ct state new jump knock`,
    ...FAMILIES.map((f) => `\t\t${f.saddr} @${f.open} meta l4proto . th dport { ${guarded.join(', ')} } accept`),
  ].join('\n');
}

/** Chain `knock`'s rules (see the module comment), both families. */
export function knockChainRules(knock: KnockConfig | undefined): string {
  if (!knock) return '\t\t# (no knock)';
  const seq = knock.sequence;
  const stage = `timeout ${knock.stage_timeout}s`;
  const lines: string[] = [];
  for (const f of FAMILIES) {
    const key = `${f.saddr} . th dport`;
    const admit = `update @${f.open} { ${f.saddr} timeout ${knock.open_for}s }`;
    const later = seq.slice(1);
    if (later.length > 0) {
      const resets = later.map((p) => `delete @${f.state} { ${f.saddr} . ${p} }`).join(' ');
      lines.push(`\t\tmeta nfproto ${f.nfproto} ${key} != @${f.state} ${resets}`);
    }
    const next = (i: number) => `update @${f.state} { ${f.saddr} . ${seq[i + 1]} ${stage} }`;
    seq.forEach((port, i) => {
      const then = i === seq.length - 1 ? admit : next(i);
      if (i === 0) lines.push(`\t\tmeta nfproto ${f.nfproto} th dport ${port} ${then}`);
      else
        lines.push(
          `\t\tmeta nfproto ${f.nfproto} th dport ${port} ${key} @${f.state} delete @${f.state} { ${key} } ${then}`,
        );
    });
  }
  lines.push('\t\tcounter name "drop_knock" drop');
  return lines.join('\n');
}

/** The template values for `knock`. */
export function knockValues(config: Config): { knock_input: string; knock_chain: string } {
  return { knock_input: knockInputRules(config.knock), knock_chain: knockChainRules(config.knock) };
}
