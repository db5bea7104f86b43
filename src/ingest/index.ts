/** The ingestion API for the rest of nftsentry (see docs/ingestion.md). */
export { startSources, type IngestDeps, type IngestHandle, type SourceHandle } from './start-sources.ts';
export { AlertQueue, type AlertSink, type IngestedAlert, type AlertQueueStats } from './alert-queue.ts';
export { sourcesSchema, type SourcesConfig, type SourceConfig } from './source-schema.ts';
export { SourceBookmarks, type FileBookmark } from './bookmarks.ts';
export { LineParser, type LineFormat } from './line-parser.ts';
export type { SourceStatsSnapshot } from './source-stats.ts';
export type { Alert, Endpoint, ParseResult, BadReason, SkipReason } from './alert.ts';
