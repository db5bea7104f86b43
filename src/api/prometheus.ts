/**
 * Prometheus text exposition (format 0.0.4), pure: metric families in, text out. Names follow the
 * conventions (`_total` for counters, base units in the name: `_seconds`, `_bytes`).
 */
import type { HistogramSnapshot } from './histogram.ts';

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  labels?: Record<string, string | number>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples?: readonly Sample[];
  /** For type histogram: one snapshot per label set. */
  histograms?: ReadonlyArray<{ labels?: Record<string, string | number>; snapshot: HistogramSnapshot }>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Record<string, string | number> | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => {
    if (!LABEL.test(k)) throw new RangeError(`bad label name ${k}`);
    return `${k}="${escapeLabel(String(v))}"`;
  });
  return parts.length ? `{${parts.join(',')}}` : '';
}

function renderHistogram(
  name: string,
  labels: Record<string, string | number> | undefined,
  h: HistogramSnapshot,
): string[] {
  const lines: string[] = [];
  h.bounds.forEach((b, i) => {
    lines.push(`${name}_bucket${formatLabels({ ...labels, le: formatValue(b) })} ${h.cumulative[i] ?? 0}`);
  });
  lines.push(`${name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${h.count}`);
  lines.push(`${name}_sum${formatLabels(labels)} ${formatValue(h.sumSec)}`);
  lines.push(`${name}_count${formatLabels(labels)} ${h.count}`);
  return lines;
}

export function renderPrometheus(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!NAME.test(f.name)) throw new RangeError(`bad metric name ${f.name}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples ?? []) out.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    for (const h of f.histograms ?? []) out.push(...renderHistogram(f.name, h.labels, h.snapshot));
  }
  return `${out.join('\n')}\n`;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
