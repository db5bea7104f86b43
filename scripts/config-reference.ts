/**
 * `npm run config-reference`: writes docs/config-reference.yaml, every config key with its default
 * and what it does, generated from the config schema (src/config/config-reference.ts). Fails when
 * a key has no description in src/config/config-docs.ts, or a description's key is gone.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../src/config/config.ts';
import { CONFIG_DOCS } from '../src/config/config-docs.ts';
import { renderReference, type Reference } from '../src/config/config-reference.ts';
import { schemaKeys } from '../src/config/schema-walk.ts';

export const REFERENCE_PATH = 'docs/config-reference.yaml';

export function configReference(): Reference {
  return renderReference(schemaKeys(configSchema), CONFIG_DOCS);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = configReference();
  if (r.undocumented.length || r.unused.length) {
    process.stderr.write(
      `src/config/config-docs.ts: ${[
        ...r.undocumented.map((p) => `no description for ${p}`),
        ...r.unused.map((p) => `${p} is not a key of the schema`),
      ].join('; ')}\n`,
    );
    process.exitCode = 1;
  }
  const out = fileURLToPath(new URL(`../${REFERENCE_PATH}`, import.meta.url));
  writeFileSync(out, r.text);
  process.stdout.write(`${out}\n`);
}
