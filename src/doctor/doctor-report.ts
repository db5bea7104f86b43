/**
 * Every check of `nftsentry doctor` in order, the exit code the findings mean, and their text for
 * people. Pure.
 */
import { configChecks } from './config-checks.ts';
import { daemonChecks } from './daemon-checks.ts';
import type { DoctorFacts, Finding } from './doctor-facts.ts';
import { conntrackChecks, nftChecks, syncookiesCheck } from './system-checks.ts';
import { foreignTableChecks, nftablesServiceCheck } from './table-checks.ts';

/** Exit codes: 0 all good, 1 warnings only, 2 any problem. */
export const DoctorExit = { OK: 0, WARNINGS: 1, PROBLEMS: 2 } as const;

export function runChecks(f: DoctorFacts): Finding[] {
  return [
    ...nftChecks(f),
    syncookiesCheck(f),
    ...conntrackChecks(f),
    ...foreignTableChecks(f),
    nftablesServiceCheck(f),
    ...configChecks(f),
    ...daemonChecks(f),
  ];
}

export function doctorExitCode(findings: readonly Finding[]): number {
  if (findings.some((x) => x.severity === 'problem')) return DoctorExit.PROBLEMS;
  if (findings.some((x) => x.severity === 'warning')) return DoctorExit.WARNINGS;
  return DoctorExit.OK;
}

const MARK = { ok: '✓', warning: '!', problem: '✗' } as const;

/** One line per finding (✓ ok, ! warning, ✗ problem), its fix indented below, and a summary. */
export function renderFindings(findings: readonly Finding[]): string {
  const lines: string[] = [];
  for (const x of findings) {
    lines.push(`${MARK[x.severity]} ${x.message} [${x.id}]`);
    if (x.fix) lines.push(`    fix: ${x.fix}`);
  }
  const count = (s: Finding['severity']) => findings.filter((x) => x.severity === s).length;
  lines.push('', `${count('problem')} problem(s), ${count('warning')} warning(s), ${count('ok')} ok`);
  return lines.join('\n');
}
