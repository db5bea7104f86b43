/**
 * Checks of the running daemon (its status API answer) and of its systemd unit. Pure.
 */
import { type DoctorFacts, type Finding, ok, problem, warning } from './doctor-facts.ts';

/** A source whose last line is older than this is worth a look (Suricata's stats events come every few seconds when enabled). */
export const SOURCE_QUIET_MS = 3_600_000;

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** The fix for an API that did not answer, by why: the token file, the token, or no daemon. */
function unreachableFix(code: string | undefined, run: string): string {
  if (code === 'E_FORBIDDEN') return 'run doctor as root (the API token file is readable by its owner only)';
  if (code === 'E_TOKEN_FILE_UNSAFE')
    return 'chown root: TOKEN_FILE && chmod 0600 TOKEN_FILE  # the message names the file and what is wrong';
  if (code === 'E_UNAUTHORIZED')
    return "the token file in this config is not the running daemon's: check api.token_file, or systemctl restart nftsentry";
  return run;
}

function daemonStatusChecks(f: DoctorFacts): Finding[] {
  const d = f.daemon;
  const run = `systemctl start nftsentry  # or: nftsentry -c ${f.configPath} run`;
  if (!d) return [];
  if (d.kind === 'api_disabled') {
    return [
      warning(
        'daemon.api',
        'api.enabled is false: doctor cannot ask the daemon whether it runs, its sources or its store',
        `set api.enabled: true in ${f.configPath} and systemctl reload nftsentry`,
      ),
    ];
  }
  if (d.kind === 'unreachable') {
    return [
      problem('daemon.api', `the daemon does not answer at ${d.target}: ${d.error}`, unreachableFix(d.code, run)),
    ];
  }
  const s = d.status;
  const out: Finding[] = [
    ok('daemon.api', `the daemon answers at ${d.target} (nftsentry ${s.version}, up ${s.uptimeSec} s)`),
  ];
  if (s.rulesetApplied === false) {
    out.push(
      problem(
        'daemon.ruleset',
        'the daemon has not applied the base ruleset',
        `journalctl -u nftsentry -n 50; systemctl reload nftsentry`,
      ),
    );
  } else if (s.rulesetApplied) {
    out.push(ok('daemon.ruleset', 'the daemon applied the base ruleset'));
  }
  for (const src of s.sources) {
    const last = src.lastLineMs === null ? 'no line yet' : `last line ${ago(f.nowMs - src.lastLineMs)}`;
    if (src.connected === 0) {
      out.push(
        warning(
          'daemon.source',
          src.type === 'unix_stream'
            ? `source ${src.name}: no IDS is connected (${src.lines} lines so far, ${last}): alerts are not arriving`
            : `source ${src.name} (${src.type}) is not open (${src.lines} lines so far, ${last})`,
          src.type === 'unix_stream' || src.type === 'unix_dgram'
            ? `point Suricata's eve-log at this socket (suricata/ in the nftsentry tree) and systemctl restart suricata`
            : `ls -l the file named in sources.inputs of ${f.configPath}; journalctl -u nftsentry -n 50`,
        ),
      );
    } else if (src.lastLineMs !== null && f.nowMs - src.lastLineMs > SOURCE_QUIET_MS) {
      out.push(
        warning(
          'daemon.source',
          `source ${src.name} (${src.type}) is connected but quiet: ${last}`,
          'systemctl status suricata  # is the IDS running and writing eve-log?',
        ),
      );
    } else {
      out.push(
        ok(
          'daemon.source',
          `source ${src.name} (${src.type}): ${src.connected} connected, ${src.lines} lines, ${last}`,
        ),
      );
    }
  }
  const st = s.store;
  if (!st) {
    out.push(warning('daemon.store', 'the daemon did not report its store', 'nftsentry status'));
  } else if (st.degraded) {
    out.push(
      problem(
        'daemon.store',
        `the store is failing: ${st.pendingRows} rows wait in memory${st.lastError ? `; last error ${st.lastError}` : ''}: bans would not survive a restart`,
        'df -h /var/lib/nftsentry; ls -l /var/lib/nftsentry  # free space, permissions; journalctl -u nftsentry',
      ),
    );
  } else if (st.recoveredFrom) {
    out.push(
      warning(
        'daemon.store',
        `the store was unusable at start and was replaced: ${st.recoveredFrom}`,
        'journalctl -u nftsentry  # the old file is kept beside it',
      ),
    );
  } else {
    out.push(ok('daemon.store', 'the store is healthy'));
  }
  return out;
}

function systemdCheck(f: DoctorFacts): Finding {
  const id = 'daemon.systemd';
  const sd = f.systemd;
  if (!sd.booted) return ok(id, 'systemd is not running here: the unit is not checked');
  const running = f.daemon?.kind === 'reachable';
  const install =
    'cp deploy/nftsentry.service /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now nftsentry';
  if (sd.unitEnabled === null || sd.unitEnabled === 'not-found') {
    return warning(id, 'nftsentry.service is not installed: nothing starts nftsentry at boot', install);
  }
  if (sd.unitActive !== 'active') {
    return running
      ? warning(
          id,
          `nftsentry.service is ${sd.unitActive ?? 'unknown'} although a daemon answers: it runs outside systemd`,
          'systemctl enable --now nftsentry  # after stopping the other one',
        )
      : problem(
          id,
          `nftsentry.service is ${sd.unitActive ?? 'unknown'}`,
          'systemctl start nftsentry; journalctl -u nftsentry -n 50',
        );
  }
  if (sd.unitEnabled !== 'enabled') {
    return warning(
      id,
      `nftsentry.service is active but ${sd.unitEnabled}: it does not start at boot`,
      'systemctl enable nftsentry',
    );
  }
  return ok(id, 'nftsentry.service is active and enabled');
}

export function daemonChecks(f: DoctorFacts): Finding[] {
  return [...daemonStatusChecks(f), systemdCheck(f)];
}
