/** The sources section: strict keys with paths, defaults, and the documented sample parses. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sourcesSchema } from '../../src/ingest/source-schema.ts';
import { parseConfig } from '../../src/config/config.ts';
import { isNftsentryError, ErrorCodes } from '../../src/errors.ts';
import { repoRoot } from './helpers.ts';

function problems(raw: unknown): string[] {
  try {
    parseConfig({ sources: raw });
  } catch (e) {
    if (isNftsentryError(e, ErrorCodes.CONFIG_INVALID)) return (e.details?.problems as string[]) ?? [];
    throw e;
  }
  return [];
}

describe('sources config', () => {
  it('defaults to one unix_stream socket and a queue of 10000', () => {
    expect(sourcesSchema.parse(undefined)).toEqual({
      queue_capacity: 10_000,
      inputs: [
        {
          type: 'unix_stream',
          path: '/run/nftsentry/eve.sock',
          format: 'auto',
          max_line_bytes: 1_048_576,
          snort_timezone: 'local',
          strict_json: false,
          mode: 0o660,
          max_connections: 64,
          idle_timeout: 30,
        },
      ],
    });
  });

  it('names every unknown key with its path, and other mistakes', () => {
    expect(problems({ inputs: [{ type: 'file', path: '/x', pol: 3 }] })).toEqual([
      'sources.inputs[0].pol: unknown key',
    ]);
    expect(problems({ queue: 1 })).toEqual(['sources.queue: unknown key']);
    expect(problems({ inputs: [{ type: 'unix_stream', path: '/a', mode: 660 }] })[0]).toMatch(
      /^sources\.inputs\[0\]\.mode: an octal mode/,
    );
    expect(problems({ inputs: [{ type: 'unix_stream', path: 'relative.sock' }] })[0]).toMatch(
      /^sources\.inputs\[0\]\.path: /,
    );
    expect(problems({ inputs: [{ type: 'unix_stream', path: `/${'x'.repeat(120)}` }] })[0]).toMatch(/107 bytes/);
    expect(problems({ inputs: [{ type: 'tcp', path: '/a' }] })[0]).toMatch(/^sources\.inputs\[0\]\.type: /);
    expect(
      problems({
        inputs: [
          { type: 'file', path: '/a' },
          { type: 'file', path: '/a' },
        ],
      }),
    ).toEqual([
      'sources.inputs[1]: name "file" is used by inputs[0] too; give each source its own name',
      'sources.inputs[1].path: inputs[0] uses this path too',
    ]);
  });

  it('parses the sources section of the sample and of the reference, with every commented input enabled', () => {
    const sample = parse(readFileSync(join(repoRoot, 'samples', 'nftsentry.yaml'), 'utf8')) as { sources: unknown };
    expect(sourcesSchema.parse(sample.sources).inputs.map((i) => i.type)).toEqual(['unix_stream']);
    const whole = readFileSync(join(repoRoot, 'docs', 'config-reference.yaml'), 'utf8');
    const text = whole.slice(whole.indexOf('\nsources:'), whole.search(/\n(#[^\n]*\n)*api:/));
    // Through the whole config: it turns the duration keys (poll: 250ms) into the _ms ones.
    const asWritten = parseConfig(parse(text), 'reference', () => undefined).sources;
    expect(asWritten.inputs.map((i) => i.type)).toEqual(['unix_stream']);
    const enabled = text.replace(/^(\s+)# (- type|[a-z_]+:)/gm, '$1$2');
    const all = parseConfig(parse(enabled), 'reference', () => undefined).sources;
    expect(all.inputs.map((i) => i.type)).toEqual(['unix_stream', 'unix_dgram', 'file', 'stdin', 'redis']);
  });
});
