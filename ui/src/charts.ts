/**
 * The charts: bans over time by source (GET /v1/dashboard/summary, its buckets), drops per second
 * by reason (the nft named counters in /v1/status) and alerts per second (the sources' counters),
 * the last two sampled from the health strip's polls and kept for the last 10 minutes.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { Chart } from './chart.ts';
import { onStatus } from './health.ts';
import type { Summary } from './tops.ts';

const KEEP = 120;

interface Rates {
  xs: number[];
  alerts: number[];
  drops: Map<string, number[]>;
}

export function Charts(props: { summary: Summary | null; summaryError: string | null }) {
  const [rates, setRates] = useState<Rates>({ xs: [], alerts: [], drops: new Map() });
  useEffect(
    () =>
      onStatus((s, prev) => {
        if (!prev) return;
        const dt = (s.atMs - prev.atMs) / 1000;
        if (dt <= 0) return;
        const sum = (st: typeof s.status) => (st.sources ?? []).reduce((a, x) => a + x.alerts, 0);
        const alerts = Math.max(0, (sum(s.status) - sum(prev.status)) / dt);
        setRates((r) => {
          const xs = [...r.xs, Date.now() / 1000].slice(-KEEP);
          const drops = new Map<string, number[]>();
          const reasons = new Set([...r.drops.keys(), ...Object.keys(s.status.drops ?? {})]);
          for (const reason of reasons) {
            const now = s.status.drops?.[reason]?.packets ?? 0;
            const before = prev.status.drops?.[reason]?.packets ?? now;
            const old = r.drops.get(reason) ?? new Array<number>(r.xs.length).fill(0);
            drops.set(reason, [...old, Math.max(0, (now - before) / dt)].slice(-KEEP));
          }
          return { xs, alerts: [...r.alerts, alerts].slice(-KEEP), drops };
        });
      }),
    [],
  );

  const sources = new Set<string>();
  for (const b of props.summary?.buckets ?? []) for (const k of Object.keys(b.bySource)) sources.add(k);
  const srcList = [...sources].sort();
  const bansData = [
    (props.summary?.buckets ?? []).map((b) => b.atMs / 1000),
    ...srcList.map((src) => (props.summary?.buckets ?? []).map((b) => b.bySource[src] ?? 0)),
  ];
  const dropNames = [...rates.drops.keys()].sort();
  return html`<section class="panel charts" aria-label="charts">
    <${Chart} title="Bans by source" testid="chart-bans" series=${srcList.length ? srcList : ['bans']}
      data=${srcList.length ? bansData : [bansData[0] ?? [], (bansData[0] ?? []).map(() => 0)]}
      empty=${props.summaryError} />
    <${Chart} title="Drops per second by reason" testid="chart-drops" series=${dropNames.length ? dropNames : ['drops']}
      data=${[rates.xs, ...(dropNames.length ? dropNames.map((n) => rates.drops.get(n)!) : [rates.xs.map(() => 0)])]} />
    <${Chart} title="Alerts per second" testid="chart-alerts" series=${['alerts']} data=${[rates.xs, rates.alerts]} />
  </section>`;
}
