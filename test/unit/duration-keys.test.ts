/**
 * Durations with units everywhere: `500ms`, `5s`, `1h`. Keys in milliseconds (`X_ms`) are written
 * `X: 500ms`; the old `X_ms` keys keep working and are reported as deprecated; both at once, or
 * a bad duration, is an error named by the key that was written.
 */
import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs, parseDurationSec } from '../../src/config/duration.ts';
import { msKeyPaths } from '../../src/config/duration-keys.ts';
import { configSchema, parseConfigText } from '../../src/config/config.ts';
import { schemaKeys } from '../../src/config/schema-walk.ts';
import { isNftsentryError } from '../../src/errors.ts';

function load(text: string): { config?: ReturnType<typeof parseConfigText>; deprecated: string[]; problems: string[] } {
  const deprecated: string[] = [];
  try {
    return { config: parseConfigText(text, 'c', (d) => deprecated.push(d)), deprecated, problems: [] };
  } catch (e) {
    if (!isNftsentryError(e)) throw e;
    return { deprecated, problems: e.details!.problems as string[] };
  }
}

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1m30s', 90_000],
    ['1s500ms', 1500],
    ['1h', 3_600_000],
    ['2w', 1_209_600_000],
    [7, 7000],
    ['7', 7000],
    [0, 0],
    ['0ms', 0],
  ])('%s is %d ms', (input, ms) => {
    expect(parseDurationMs(input)).toBe(ms);
  });

  it.each([['5 s'], ['5x'], ['-1s'], [1.5], ['ms'], [''], [null], ['11y'], ['999999999w']])('%s is not', (input) => {
    expect(parseDurationMs(input)).toBeNull();
  });

  it('whole seconds for the second keys: 1500ms is not, 2000ms is 2 s, 0 is not', () => {
    expect([parseDurationSec('1500ms'), parseDurationSec('2000ms'), parseDurationSec(0)]).toEqual([null, 2, null]);
  });

  it('prints back what it reads', () => {
    for (const ms of [0, 20, 500, 1000, 1500, 60_000, 90_500, 3_600_000, 86_400_000]) {
      expect(parseDurationMs(formatDurationMs(ms))).toBe(ms);
    }
    expect([formatDurationMs(500), formatDurationMs(90_000), formatDurationMs(0)]).toEqual(['500ms', '1m30s', '0s']);
  });
});

describe('keys in milliseconds', () => {
  it('are found in the schema, lists included', () => {
    expect(msKeyPaths(schemaKeys(configSchema))).toEqual(
      expect.arrayContaining(['engine.flush_interval_ms', 'engine.heal_poll_ms', 'sources.inputs[].poll_ms']),
    );
  });

  it('are written as durations without _ms', () => {
    const r = load(`engine: { flush_interval: 500ms, rules_check: 1m, heal_poll: 1s }
sources: { inputs: [ { type: file, path: /var/log/a.json, poll: 2s, rotate_grace: 0 } ] }
`);
    expect(r.problems).toEqual([]);
    expect(r.deprecated).toEqual([]);
    expect([
      r.config!.engine.flush_interval_ms,
      r.config!.engine.rules_check_ms,
      r.config!.engine.heal_poll_ms,
    ]).toEqual([500, 60_000, 1000]);
    expect(r.config!.sources.inputs[0]).toMatchObject({ poll_ms: 2000, rotate_grace_ms: 0 });
  });

  it('the old _ms keys keep working, each reported as deprecated with what to write instead', () => {
    const r = load(`engine: { flush_interval_ms: 250 }
sources: { inputs: [ { type: file, path: /var/log/a.json, poll_ms: 1500 } ] }
`);
    expect(r.config!.engine.flush_interval_ms).toBe(250);
    expect(r.config!.sources.inputs[0]).toMatchObject({ poll_ms: 1500 });
    expect(r.deprecated.sort()).toEqual([
      'c: engine.flush_interval_ms is deprecated: write flush_interval: 250ms',
      'c: sources.inputs[0].poll_ms is deprecated: write poll: 1s500ms',
    ]);
  });

  it('refuses a bad duration, both spellings at once, and an out-of-range one, by the key written', () => {
    const r = load(`engine: { flush_interval: soon, heal_poll: 1s, heal_poll_ms: 500, burst_wait: 1h }
sources: { inputs: [ { type: file, path: /var/log/a.json, poll: 5ms } ] }
`);
    expect(r.problems.sort()).toEqual([
      'engine.burst_wait: Too big: expected number to be <=10000 (in milliseconds)',
      'engine.flush_interval: "soon" is not a duration (like 500ms, 5s, 1m; a bare number is seconds)',
      'engine.heal_poll: give heal_poll or heal_poll_ms (deprecated), not both',
      'sources.inputs[0].poll: Too small: expected number to be >=10 (in milliseconds)',
    ]);
  });
});
