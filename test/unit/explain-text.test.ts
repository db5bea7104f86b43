/** `nftsentry explain` as a person reads it: the verdict first, then hits, protection, history. */
import { describe, expect, it } from 'vitest';
import type { Explanation } from '../../src/engine/operations.ts';
import { explainText } from '../../src/cli/explain-text.ts';

const T = Date.UTC(2026, 11, 1, 12, 0, 0);

function base(over: Partial<Explanation> = {}): Explanation {
  return {
    address: '198.51.100.7',
    banned: false,
    packets: null,
    bytes: null,
    lastHitMs: null,
    why: { code: 'never_seen', detail: {} },
    ban: null,
    protection: {
      code: null,
      entry: null,
      kernelMeters: true,
      singleEtScanAlert: {
        code: 'below_threshold',
        detail: { rule: 'et-scan', alerts: 1, threshold: 3, windowSec: 600 },
      },
    },
    history: [],
    ...over,
  };
}

describe('explain text', () => {
  it('a banned address: its ban, time left, hits, and the history newest first with actors', () => {
    const text = explainText(
      base({
        banned: true,
        packets: 5,
        bytes: 420,
        why: { code: 'banned', detail: { source: 'suricata', reason: 'et-scan', sid: 2001219, offences: 2 } },
        ban: {
          address: '198.51.100.7',
          family: 4,
          source: 'suricata',
          reason: 'et-scan',
          sid: 2001219,
          signature: 'ET SCAN Potential SSH Scan',
          firstSeenMs: T - 60_000,
          lastSeenMs: T - 1000,
          expiresMs: T + 3_540_000,
          remainingSec: 3540,
          offences: 2,
        },
        history: [
          {
            atMs: T - 500,
            at: '',
            kind: 'alert',
            code: 'already_banned',
            detail: { expiresMs: T + 3_540_000, repeats: 1234, sinceMs: T - 900 },
            actor: null,
            address: '198.51.100.7',
          },
          {
            atMs: T - 1000,
            at: '',
            kind: 'manual',
            code: 'ban',
            detail: {},
            actor: 'ops@uid:0',
            address: '198.51.100.7',
          },
          {
            atMs: T - 2000,
            at: '',
            kind: 'alert',
            code: 'below_threshold',
            detail: { rule: 'et-scan', alerts: 2, threshold: 3, windowSec: 600 },
            actor: null,
            address: '198.51.100.7',
          },
        ],
      }),
      T,
    );
    expect(text.split('\n')).toEqual([
      '198.51.100.7: BANNED: banned by suricata (et-scan, sid 2001219), offence 2',
      '  ban: 198.51.100.7, since 2026-12-01 11:59:00 UTC, 59m0s left',
      '  hits: 5 packets, 420 bytes dropped',
      '  protection: none',
      '  kernel scan meters: count it',
      '  one ET SCAN alert now: below threshold: 1/3 alerts within 600s (rule et-scan)',
      '  history (newest first):',
      '  2026-12-01 11:59:59  alert   already banned until 2026-12-01 12:59:00 UTC (x1234 more since 2026-12-01 11:59:59)',
      '  2026-12-01 11:59:59  manual  ban by ops@uid:0',
      '  2026-12-01 11:59:58  alert   below threshold: 2/3 alerts within 600s (rule et-scan)',
    ]);
  });

  it('a protected address names the entry', () => {
    const text = explainText(
      base({
        why: { code: 'allowlisted', detail: { entry: '198.51.100.0/24' } },
        protection: {
          code: 'allowlisted',
          entry: '198.51.100.0/24',
          kernelMeters: false,
          singleEtScanAlert: { code: 'allowlisted', detail: { address: '198.51.100.7' } },
        },
      }),
      T,
    );
    expect(text).toContain('not banned: protected: allowlisted by 198.51.100.0/24');
    expect(text).toContain('kernel scan meters: do not count it');
    expect(text).toContain('history: none in the journal');
  });
});
