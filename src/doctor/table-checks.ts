/**
 * What other tables in the ruleset mean for nftsentry's verdicts, and whether nftables.service
 * would wipe its table. Pure: `nft -j -t list ruleset` objects and the text of
 * /etc/nftables.conf in, findings out.
 *
 * In nftables every base chain registered at a hook sees the packet, in priority order (lower
 * first). An accept ends the packet's walk through that chain only: the next base chain at the
 * same hook still sees it. A drop anywhere is final. So another table's drop wins over
 * nftsentry's accept (open services, allowlist), whichever runs first; and nftsentry's drop wins
 * over another table's accept.
 */
import { TABLE_FAMILY, TABLE_NAME } from '../nft/objects.ts';
import { type DoctorFacts, type Finding, isUnreadable, ok, problem, warning } from './doctor-facts.ts';

/** nftsentry's own base chains: hook -> priority (nft/00-objects.nft). */
export const OWN_HOOKS: Readonly<Record<string, number>> = { prerouting: -300, input: 0, forward: 0 };
/** Hooks that decide what reaches nftsentry's chains; netdev ingress runs before all of them. */
const WATCHED_HOOKS = new Set(['prerouting', 'input', 'forward', 'ingress']);
const IP_FAMILIES = new Set(['ip', 'ip6', 'inet', 'netdev']);

export interface BaseChain {
  family: string;
  table: string;
  name: string;
  type: string;
  hook: string;
  prio: number;
  policy: string;
  /** Rules with a drop or reject verdict. */
  dropRules: number;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** Another table's base chains on the watched hooks, from `nft -j list ruleset` objects. */
export function foreignBaseChains(objects: ReadonlyArray<Record<string, unknown>>): BaseChain[] {
  const chains = new Map<string, BaseChain>();
  const key = (family: string, table: string, chain: string) => `${family}\0${table}\0${chain}`;
  for (const o of objects) {
    const c = o.chain as Record<string, unknown> | undefined;
    if (!c || typeof c !== 'object') continue;
    const family = str(c.family);
    const table = str(c.table);
    const hook = str(c.hook);
    if (!hook || !WATCHED_HOOKS.has(hook) || !IP_FAMILIES.has(family)) continue;
    if (family === TABLE_FAMILY && table === TABLE_NAME) continue;
    const prio = typeof c.prio === 'number' ? c.prio : Number(c.prio);
    chains.set(key(family, table, str(c.name)), {
      family,
      table,
      name: str(c.name),
      type: str(c.type) || 'filter',
      hook,
      prio: Number.isFinite(prio) ? prio : 0,
      policy: str(c.policy) || 'accept',
      dropRules: 0,
    });
  }
  for (const o of objects) {
    const r = o.rule as Record<string, unknown> | undefined;
    if (!r || typeof r !== 'object') continue;
    const chain = chains.get(key(str(r.family), str(r.table), str(r.chain)));
    if (chain && /"(?:drop|reject)"\s*:/.test(JSON.stringify(r.expr ?? null))) chain.dropRules++;
  }
  return [...chains.values()];
}

/** Who made a table, from its well-known names: iptables-nft, Docker, firewalld, or nobody known. */
export function tableOwner(
  c: Pick<BaseChain, 'family' | 'table' | 'name'>,
): 'iptables-nft' | 'docker' | 'firewalld' | null {
  if (c.table === 'firewalld') return 'firewalld';
  if (/docker/i.test(c.table) || /^DOCKER/.test(c.name)) return 'docker';
  if (
    (c.family === 'ip' || c.family === 'ip6') &&
    ['filter', 'nat', 'mangle', 'raw', 'security'].includes(c.table) &&
    /^[A-Z]+$/.test(c.name)
  )
    return 'iptables-nft';
  return null;
}

function where(c: BaseChain): string {
  const owner = tableOwner(c);
  return `table ${c.family} ${c.table} chain ${c.name}${owner ? ` (${owner})` : ''} on hook ${c.hook}, priority ${c.prio}`;
}

/** When it runs relative to nftsentry's chain at the same hook. */
function order(c: BaseChain): string {
  if (c.hook === 'ingress') return "it runs before all of nftsentry's chains";
  const own = OWN_HOOKS[c.hook]!;
  if (c.prio < own)
    return `it runs before nftsentry's ${c.hook} chain (priority ${own}): what it drops, nftsentry never sees (no scan detection, no counters)`;
  if (c.prio > own)
    return `it runs after nftsentry's ${c.hook} chain (priority ${own}): it can still drop what nftsentry accepted`;
  return `it has the same priority as nftsentry's ${c.hook} chain (${own}), so their order is not defined`;
}

/** Before, after or beside nftsentry's chain at the same hook, in a word. */
function relation(c: BaseChain): string {
  const own = c.hook === 'ingress' ? Number.POSITIVE_INFINITY : OWN_HOOKS[c.hook]!;
  return c.prio < own ? "before nftsentry's" : c.prio > own ? "after nftsentry's" : "same priority as nftsentry's";
}

function policyFix(c: BaseChain, docker: boolean): string {
  const owner = tableOwner(c);
  if (docker && c.family === 'ip' && c.table === 'filter' && c.name === 'FORWARD')
    return "iptables -I DOCKER-USER -i LAN_INTERFACE -j ACCEPT  # Docker sets FORWARD's policy back to DROP whenever it starts: accept your routed traffic in DOCKER-USER";
  if (owner === 'firewalld')
    return 'systemctl disable --now firewalld  # or open the same services in firewalld: firewall-cmd --permanent --add-port=PORT/tcp';
  if (owner === 'iptables-nft')
    return `${c.family === 'ip6' ? 'ip6tables' : 'iptables'} -t ${c.table} -P ${c.name} ACCEPT  # or accept nftsentry's services there too`;
  return `nft chain ${c.family} ${c.table} ${c.name} '{ policy accept; }'  # or accept nftsentry's services there too; nft delete table ${c.family} ${c.table} if nothing needs it`;
}

export function foreignTableChecks(f: DoctorFacts): Finding[] {
  const objects = f.nft.ruleset;
  if (isUnreadable(objects)) {
    return [problem('tables.read', `nft -j list ruleset failed: ${objects.error}`, 'nft list ruleset  # as root')];
  }
  const out: Finding[] = [];
  const own = objects.some((o) => {
    const t = o.table as Record<string, unknown> | undefined;
    return t?.family === TABLE_FAMILY && t.name === TABLE_NAME;
  });
  out.push(
    own
      ? ok('tables.nftsentry', `table ${TABLE_FAMILY} ${TABLE_NAME} is loaded`)
      : problem(
          'tables.nftsentry',
          `table ${TABLE_FAMILY} ${TABLE_NAME} is not loaded: nothing is filtered or banned`,
          `nftsentry -c ${f.configPath} apply  # or: systemctl start nftsentry`,
        ),
  );
  const chains = foreignBaseChains(objects);
  const docker =
    chains.some((c) => tableOwner(c) === 'docker') ||
    objects.some((o) => /^DOCKER/.test(str((o.chain as Record<string, unknown> | undefined)?.name)));
  const harmless: BaseChain[] = [];
  for (const c of chains) {
    if (c.policy === 'drop' && c.type === 'filter') {
      out.push(
        problem(
          'tables.foreign_drop_policy',
          `${where(c)} has policy drop: a packet must be accepted by it as well as by nftsentry, so nftsentry's open services and allowlist do not let anything through that this chain does not accept; ${order(c)}`,
          policyFix(c, docker),
        ),
      );
    } else if (c.dropRules > 0) {
      out.push(
        warning(
          'tables.foreign_drop_rules',
          `${where(c)} has ${c.dropRules} rule(s) that drop or reject: their drops win over nftsentry's accepts; ${order(c)}`,
          `nft -a list chain ${c.family} ${c.table} ${c.name}  # check that it accepts what nftsentry should let through`,
        ),
      );
    } else {
      harmless.push(c);
    }
  }
  if (docker) out.push(dockerFinding(f));
  out.push(
    harmless.length > 0
      ? ok(
          'tables.foreign',
          `other base chains that drop nothing: ${harmless.map((c) => `${c.family} ${c.table} ${c.name} (${c.type}, ${c.hook} ${c.prio}: ${relation(c)})`).join('; ')}; their accepts do not skip nftsentry's chains`,
        )
      : chains.length === 0
        ? ok('tables.foreign', 'no other table has a base chain on prerouting, input or forward')
        : ok('tables.foreign', 'no other base chain that only accepts'),
  );
  return out;
}

function dockerFinding(f: DoctorFacts): Finding {
  return warning(
    'tables.docker',
    "Docker's tables are loaded: published container ports are DNATed in prerouting (priority dstnat, -100), so that traffic goes through nftsentry's forward chain, not input: services.tcp does not open it, forward.policy and forward.services decide it",
    `with forward.policy: drop, list the published ports under forward.services (or docker0 under forward.trusted_interfaces) in ${f.configPath}, then nftsentry -c ${f.configPath} apply`,
  );
}

/** True when an uncommented `flush ruleset` is in the text. */
export function hasFlushRuleset(text: string): boolean {
  return text.split('\n').some((l) => /^\s*flush\s+ruleset\b/.test(l.replace(/#.*/, '')));
}

export function nftablesServiceCheck(f: DoctorFacts): Finding {
  const id = 'nftables.flush_ruleset';
  const { path, text } = f.nftablesConf;
  if (text === null)
    return ok(id, `no ${path}: nftables.service loads nothing that could flush table ${TABLE_FAMILY} ${TABLE_NAME}`);
  if (!hasFlushRuleset(text)) return ok(id, `${path} does not flush the whole ruleset`);
  if (!f.systemd.booted)
    return ok(
      id,
      `${path} starts with \`flush ruleset\`, but systemd is not running here: no nftables.service loads it (not checked)`,
    );
  const enabled = f.systemd.nftablesEnabled;
  if (enabled !== 'enabled' && enabled !== 'enabled-runtime' && enabled !== 'static') {
    return ok(
      id,
      `${path} has \`flush ruleset\`; nftables.service is ${enabled ?? 'unknown'}, so nothing loads it by itself (loading it by hand would flush nftsentry's table)`,
    );
  }
  return warning(
    id,
    `${path} has \`flush ruleset\` and nftables.service is enabled: \`systemctl reload nftables\` (or restart, or a package upgrade) deletes table ${TABLE_FAMILY} ${TABLE_NAME} with every ban until the running daemon heals it; with the daemon stopped, the host stays open`,
    `sed -i 's/^\\s*flush ruleset/table inet filter\\nflush table inet filter/' ${path}  # flush only the tables the file declares: one such pair per table`,
  );
}
