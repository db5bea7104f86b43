/**
 * The dashboard's files: the bundle esbuild made of ui/ (scripts/build-ui.ts writes ui/bundle/,
 * committed), read once when the API starts, and its two pages. The pages hold no script and no
 * style of their own (the CSP allows only files from this origin): one stylesheet, one module.
 */
import { readFileSync } from 'node:fs';

/** ui/bundle/ of the repository when running from source; `ui/` beside the bundled module in the package. */
export const UI_BUNDLE = new URL(import.meta.url.endsWith('.ts') ? '../../../ui/bundle/' : './ui/', import.meta.url);

/** The files served under /ui/assets/, and their types; nothing else is. */
const ASSET_TYPES: Readonly<Record<string, string>> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

export interface UiAsset {
  type: string;
  body: Buffer;
}

/** Every asset that exists in `dir`; an empty map when the bundle was not built. */
export function loadUiAssets(dir: URL = UI_BUNDLE): Map<string, UiAsset> {
  const out = new Map<string, UiAsset>();
  for (const [name, type] of Object.entries(ASSET_TYPES)) {
    try {
      out.set(name, { type, body: readFileSync(new URL(name, dir)) });
    } catch {
      // Not built: the page says so.
    }
  }
  return out;
}

const HEAD = [
  '<!doctype html>',
  '<html lang="en">',
  '<head>',
  '<meta charset="utf-8">',
  '<meta name="viewport" content="width=device-width, initial-scale=1">',
  '<meta name="color-scheme" content="light dark">',
  '<title>nftsentry</title>',
  '<link rel="stylesheet" href="/ui/assets/app.css">',
].join('\n');

/** The application's page: the module draws everything into #app. */
export const APP_PAGE = `${HEAD}
<script type="module" src="/ui/assets/app.js"></script>
</head>
<body><div id="app"><p class="loading">Loading...</p></div></body>
</html>
`;

/** The login form: no script at all; a failed attempt comes back with `?failed=1`. */
export function loginPage(message: string | null): string {
  const note = message ? `<p class="login-error" role="alert">${message}</p>` : '';
  return `${HEAD}
</head>
<body class="login-body">
<main class="login">
<h1>nftsentry</h1>
<form method="post" action="/ui/login">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>
${note}
</main>
</body>
</html>
`;
}
