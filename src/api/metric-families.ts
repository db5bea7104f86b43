/**
 * The metric families nftsentry exposes on /metrics, built from one round of observations. Pure
 * apart from reading the telemetry snapshot functions it is handed.
 */
import type { StoreHealth } from '../engine/store-writer.ts';
import type { ApiContext } from './context.ts';
import type { MetricFamily, Sample } from './prometheus.ts';
import type { Observations } from './observations.ts';
import { engineFamilies } from './engine-metrics.ts';

export function metricFamilies(ctx: ApiContext, o: Observations, nowMs: number): MetricFamily[] {
  const t = ctx.telemetry;
  const fams: MetricFamily[] = [
    {
      name: 'nftsentry_build_info',
      help: 'Version of the running nftsentry.',
      type: 'gauge',
      samples: [{ labels: { version: ctx.version }, value: 1 }],
    },
    {
      name: 'nftsentry_start_time_seconds',
      help: 'Start time of the daemon, Unix seconds.',
      type: 'gauge',
      samples: [{ value: ctx.startedMs / 1000 }],
    },
  ];
  if (o.bans) {
    fams.push({
      name: 'nftsentry_bans_active',
      help: 'Bans in force, by source.',
      type: 'gauge',
      samples: o.bans.map((b) => ({ labels: { source: b.source }, value: b.count })),
    });
  }
  const cap = t.banCap?.();
  if (cap) {
    fams.push(
      {
        name: 'nftsentry_bans_max_active',
        help: 'policy.max_active_bans: the most bans in force at once.',
        type: 'gauge',
        samples: [{ value: cap.maxActiveBans }],
      },
      {
        name: 'nftsentry_bans_capped_total',
        help: 'Automatic bans at policy.max_active_bans: made the aggregate (IPv4 /24, IPv6 /48) of the bans inside, or refused.',
        type: 'counter',
        samples: [
          { labels: { action: 'aggregated' }, value: cap.aggregated },
          { labels: { action: 'refused' }, value: cap.refused },
        ],
      },
    );
  }
  const alerts = t.alertResults?.();
  if (alerts) {
    fams.push({
      name: 'nftsentry_alerts_total',
      help: 'Alerts received, by source and what became of them.',
      type: 'counter',
      samples: alerts.map((a) => ({ labels: { source: a.source, result: a.result }, value: a.count })),
    });
  }
  const apply = t.nftApplyDurations?.();
  if (apply) {
    fams.push({
      name: 'nftsentry_nft_apply_duration_seconds',
      help: 'Duration of nft transactions (ruleset and ban batches).',
      type: 'histogram',
      histograms: [{ snapshot: apply }],
    });
  }
  if (o.drops) {
    fams.push(
      {
        name: 'nftsentry_dropped_packets_total',
        help: 'Packets dropped by table inet nftsentry, by reason (nft named counters).',
        type: 'counter',
        samples: o.drops.map((d) => ({ labels: { reason: d.reason }, value: d.packets })),
      },
      {
        name: 'nftsentry_dropped_bytes_total',
        help: 'Bytes dropped by table inet nftsentry, by reason (nft named counters).',
        type: 'counter',
        samples: o.drops.map((d) => ({ labels: { reason: d.reason }, value: d.bytes })),
      },
    );
  }
  if (o.meterFull !== null) {
    fams.push({
      name: 'nftsentry_meter_full_packets_total',
      help: 'Packets that a full per-source kernel meter (scan detection, rate limits) could not take: counted by hash bucket instead. Rising: a flood of (spoofed) sources.',
      type: 'counter',
      samples: [{ value: o.meterFull }],
    });
  }
  if (o.ruleset) {
    fams.push({
      name: 'nftsentry_ruleset_applied',
      help: '1 when the base ruleset is loaded.',
      type: 'gauge',
      samples: [{ value: o.ruleset.applied ? 1 : 0 }],
    });
    if (o.ruleset.appliedMs !== null) {
      fams.push({
        name: 'nftsentry_ruleset_applied_timestamp_seconds',
        help: 'When the base ruleset was last applied, Unix seconds.',
        type: 'gauge',
        samples: [{ value: o.ruleset.appliedMs / 1000 }],
      });
    }
  }
  const store = t.store?.();
  if (store) fams.push(...storeFamilies(store));
  if (o.sources) fams.push(...sourceFamilies(o));
  fams.push(...engineFamilies(t.engineCounters?.() ?? null));
  fams.push(...processFamilies(nowMs));
  fams.push(...requestFamilies(ctx));
  return fams;
}

/** Codes shown from the start (at 0), so that a rate over them sees the first error. */
const STORE_ERROR_CODES = ['SQLITE_BUSY', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY'];

function storeFamilies(store: StoreHealth): MetricFamily[] {
  const errors = { ...Object.fromEntries(STORE_ERROR_CODES.map((c) => [c, 0])), ...store.errors };
  return [
    {
      name: 'nftsentry_store_errors_total',
      help: 'Failed store writes and checkpoints, by SQLite result code.',
      type: 'counter',
      samples: Object.entries(errors).map(([code, value]) => ({ labels: { code }, value })),
    },
    {
      name: 'nftsentry_store_degraded',
      help: '1 while store writes fail and their rows wait in memory to be retried.',
      type: 'gauge',
      samples: [{ value: store.degraded ? 1 : 0 }],
    },
    {
      name: 'nftsentry_store_pending_rows',
      help: 'Rows (bans, deactivations, grace periods) waiting in memory for the store.',
      type: 'gauge',
      samples: [{ value: store.pendingRows }],
    },
  ];
}

function sourceFamilies(o: Observations): MetricFamily[] {
  const s = o.sources ?? [];
  const per = (f: (x: (typeof s)[number]) => number | null): Sample[] =>
    s.flatMap((x) => {
      const v = f(x);
      return v === null ? [] : [{ labels: { source: x.name }, value: v }];
    });
  return [
    {
      name: 'nftsentry_source_connected',
      help: 'Open connections (unix_stream) or 1 when the source is open.',
      type: 'gauge',
      samples: per((x) => x.connected),
    },
    {
      name: 'nftsentry_source_lines_total',
      help: 'Lines read per source.',
      type: 'counter',
      samples: per((x) => x.lines),
    },
    {
      name: 'nftsentry_source_bad_lines_total',
      help: 'Lines refused as malformed, per source.',
      type: 'counter',
      samples: per((x) => x.badTotal),
    },
    {
      name: 'nftsentry_source_dropped_alerts_total',
      help: 'Alerts refused because the queue was full, per source.',
      type: 'counter',
      samples: per((x) => x.dropped),
    },
    {
      name: 'nftsentry_source_connections_evicted_total',
      help: 'unix_stream clients closed to make room for a new one at max_connections, per source.',
      type: 'counter',
      samples: per((x) => x.evicted),
    },
    {
      name: 'nftsentry_source_connections_refused_total',
      help: 'unix_stream clients refused at max_connections (every client busy), per source.',
      type: 'counter',
      samples: per((x) => x.refused),
    },
    {
      name: 'nftsentry_source_connections_idle_closed_total',
      help: 'unix_stream clients closed for sending nothing within idle_timeout, per source.',
      type: 'counter',
      samples: per((x) => x.idleClosed),
    },
    {
      name: 'nftsentry_source_lag_seconds',
      help: 'Receive time minus event time of the last alert, per source.',
      type: 'gauge',
      samples: per((x) => (x.lastLagMs === null ? null : x.lastLagMs / 1000)),
    },
    {
      name: 'nftsentry_source_last_line_timestamp_seconds',
      help: 'When the last line was read, Unix seconds, per source (alert on time() minus this).',
      type: 'gauge',
      samples: per((x) => (x.lastLineMs === null ? null : x.lastLineMs / 1000)),
    },
  ];
}

/**
 * The conventional process metrics (as the Prometheus client libraries name them), for the whole
 * daemon process: its threads share one RSS and one CPU account.
 */
function processFamilies(nowMs: number): MetricFamily[] {
  const cpu = process.cpuUsage();
  return [
    {
      name: 'process_start_time_seconds',
      help: 'Start time of the process since the Unix epoch, seconds.',
      type: 'gauge',
      samples: [{ value: Math.round(nowMs / 1000 - process.uptime()) }],
    },
    {
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size of the process, bytes.',
      type: 'gauge',
      samples: [{ value: process.memoryUsage.rss() }],
    },
    {
      name: 'process_cpu_seconds_total',
      help: 'User and system CPU time spent by the process, seconds.',
      type: 'counter',
      samples: [{ value: (cpu.user + cpu.system) / 1e6 }],
    },
  ];
}

function requestFamilies(ctx: ApiContext): MetricFamily[] {
  const counts: Sample[] = [...ctx.requestCounts].map(([key, value]) => {
    const [method, route, code] = key.split(' ');
    return { labels: { method: method!, route: route!, code: code! }, value };
  });
  return [
    {
      name: 'nftsentry_api_requests_total',
      help: 'API requests answered, by method, route and HTTP status code.',
      type: 'counter',
      samples: counts,
    },
    {
      name: 'nftsentry_api_request_duration_seconds',
      help: 'API request durations, by route.',
      type: 'histogram',
      histograms: [...ctx.requestDurations].map(([route, h]) => ({ labels: { route }, snapshot: h.snapshot() })),
    },
  ];
}
