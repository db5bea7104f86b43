/**
 * The Node binary for child processes (lab service, client, daemon under test): this process's own
 * when it is Node 24 or newer, else the project's node_modules/.bin/node (Node 24 from the npm
 * registry). The system node may be older and lacks node:sqlite and type stripping.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PROJECT_NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));

export const NODE_BIN =
  Number(process.versions.node.split('.')[0]) >= 24 || !existsSync(PROJECT_NODE) ? process.execPath : PROJECT_NODE;
