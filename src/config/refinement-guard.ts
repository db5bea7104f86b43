/**
 * Guards for refinements that read more than one key. zod runs an object's refinement even when
 * some of its fields failed with a non-aborting issue (a number out of range, a string too long):
 * such a field then holds its input as it came (`70000`, not the `[70000, 70000]` its transform
 * makes), whatever the output type says. A refinement reads a field only when nothing failed at,
 * above or under it, and names these paths in its `when`, so that it also runs alongside failures
 * elsewhere in the file and every problem is reported at once.
 */
import type { core } from 'zod';

type Issues = ReadonlyArray<core.$ZodRawIssue>;

/**
 * Unknown keys are reported on the object that holds them and change none of its parsed values,
 * so they do not count as a failure here.
 */
function failures(issues: Issues): Issues {
  return issues.filter((i) => i.code !== 'unrecognized_keys');
}

function isPrefix(short: readonly PropertyKey[], long: readonly PropertyKey[]): boolean {
  return short.length <= long.length && short.every((k, i) => k === long[i]);
}

/** True when no issue lies at `path`, above it or under it: the value there is parsed and typed. */
export function parsedAt(issues: Issues, path: readonly PropertyKey[]): boolean {
  return !failures(issues).some((i) => isPrefix(i.path ?? [], path) || isPrefix(path, i.path ?? []));
}

/** True when no issue lies at `path` or above it: the value there has its shape, though parts of it may have failed. */
export function intactAt(issues: Issues, path: readonly PropertyKey[]): boolean {
  return !failures(issues).some((i) => isPrefix(i.path ?? [], path));
}

/** A `when` for `superRefine`: run once the containers at these paths are intact. */
export function whenIntact(...paths: ReadonlyArray<readonly PropertyKey[]>): (payload: core.ParsePayload) => boolean {
  return (payload) => paths.every((p) => intactAt(payload.issues, p));
}
