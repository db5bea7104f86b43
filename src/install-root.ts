/**
 * The directory nftsentry's data files (`nft/` templates, `package.json`) are found under: one level
 * above the running module. From source this module is `src/install-root.ts`, so it is the project
 * root; in the Debian package the bundle is `/usr/lib/nftsentry/app/nftsentry.mjs`, so it is
 * `/usr/lib/nftsentry` (wherever the package was installed or extracted).
 */
import { fileURLToPath } from 'node:url';

export const INSTALL_ROOT: string = fileURLToPath(new URL('..', import.meta.url));
