/**
 * Regenerates the dashboard's screenshots in docs/screenshots/ (desktop and phone width, light and
 * dark): the lab with the real daemon in namespaces (test/ui/browser-harness.ts), a few thousand
 * bans in the store, live alerts, a manual ban and an allowlist entry, photographed by chromium.
 *
 *   npm run screenshots        (root: it makes network namespaces; NFTSENTRY_NETNS_PREFIX names them)
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { curl, launchBrowserIn, sendAlert, startGateway } from '../test/ui/browser-harness.ts';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const VIEWS = [
  { name: 'desktop', width: 1400, height: 1000, mobile: false },
  { name: 'phone', width: 390, height: 844, mobile: true },
] as const;
const SIGNATURES: Array<[number, string]> = [
  [2001219, 'ET SCAN Potential SSH Scan'],
  [2010935, 'ET SCAN Suspicious inbound to MSSQL port 1433'],
  [2009582, 'ET SCAN NMAP -sS window 1024'],
  [2002911, 'ET SCAN Potential VNC Scan 5900-5920'],
];

const gw = await startGateway({ seedBans: 2400 });
const browser = await launchBrowserIn(gw.dir, gw.lab.gw.name);
try {
  mkdirSync(OUT, { recursive: true });
  for (let i = 0; i < 24; i++) {
    const [sid, sig] = SIGNATURES[i % SIGNATURES.length]!;
    await sendAlert(gw, `198.18.0.${30 + i}`, sid, sig);
  }
  await curl(gw, 'POST', '/v1/bans', { body: { address: '198.18.7.0/24', duration: '7d', reason: 'brute force' } });
  await curl(gw, 'POST', '/v1/allowlist', { body: { address: '198.18.9.0/24', note: 'office' } });
  for (const view of VIEWS) {
    for (const scheme of ['light', 'dark'] as const) {
      const ctx = await browser.newContext({
        viewport: { width: view.width, height: view.height },
        deviceScaleFactor: view.mobile ? 2 : 1,
        isMobile: view.mobile,
        hasTouch: view.mobile,
        colorScheme: scheme,
      });
      const page = await ctx.newPage();
      await page.goto(`${gw.base}/ui/login`);
      await page.fill('input[name="token"]', gw.token);
      await page.click('button[type="submit"]');
      await page.waitForSelector('tr[data-address]');
      // Alerts for the rate charts while two status samples are taken (20/s for 11 s: bounded).
      for (let i = 0; i < 220; i++) {
        const [sid, sig] = SIGNATURES[i % SIGNATURES.length]!;
        await sendAlert(gw, `198.18.0.${30 + (i % 24)}`, sid, sig);
        await page.waitForTimeout(50);
      }
      await sendAlert(gw, `198.18.0.${90 + VIEWS.indexOf(view) * 2 + (scheme === 'dark' ? 1 : 0)}`);
      await page.waitForTimeout(1500);
      const file = join(OUT, `dashboard-${view.name}-${scheme}.png`);
      await page.screenshot({ path: file, fullPage: !view.mobile });
      console.log(file);
      await ctx.close();
    }
  }
} finally {
  await browser.close();
  await gw.destroy();
}
