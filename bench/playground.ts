// npm run bench (second part): the playground in headless Chromium. Bytes a first visit downloads
// before the prompt, time to the prompt cold and with fast boot, and guest sync → IndexedDB.
import type { Page } from 'playwright-core';
import { buildSite, launch, serveSite, typeAndWait } from '../e2e/support.ts';

const rows: [string, string, string][] = [];
const report = (what: string, value: string, target = '') => {
  rows.push([what, value, target]);
  console.error(`  ${what}: ${value}${target ? ` (target ${target})` : ''}`);
};

console.error('Building the playground ...');
await buildSite();
const { url, server } = await serveSite();
const browser = await launch();
const context = await browser.newContext();

async function visit(): Promise<{ page: Page; ms: number; bytes: number }> {
  const page = await context.newPage();
  let bytes = 0;
  // Bytes on the wire: a server that sends initramfs.cpio.gz with Content-Encoding: gzip would
  // otherwise be counted at its decoded size.
  page.on('requestfinished', (req) => void req.sizes().then((sz) => (bytes += sz.responseBodySize)).catch(() => {}));
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForSelector('body[data-ready]', { timeout: 180_000 });
  return { page, ms: Date.now() - t0, bytes };
}

const first = await visit();
report('first visit: bytes downloaded before the prompt', `${(first.bytes / 1e6).toFixed(2)} MB`, '≤ 8 MB');
report('first visit: page load to SKIFF_READY (cold boot)', `${(first.ms / 1000).toFixed(1)} s`);
await typeAndWait(first.page, 'echo bench > /mnt/persist/bench && sync && echo BENCH-$((1+1))', /BENCH-2/);
const synced = Date.now();
await first.page.waitForFunction((t) => {
  const m = /last saved (.*)$/.exec(document.getElementById('status-persist')!.textContent ?? '');
  return m !== null && Date.parse(`${new Date().toDateString()} ${m[1]}`) >= t - 1000;
}, synced, { timeout: 10_000 });
report('guest sync to the data being in IndexedDB', `≤ ${((Date.now() - synced) / 1000).toFixed(2)} s (includes polling)`, '≤ 1 s');
await first.page.waitForTimeout(1500);
await first.page.close();

const second = await visit();
report('second visit: page load to SKIFF_READY (fast boot)', `${(second.ms / 1000).toFixed(1)} s`, '≤ 1 s');
await second.page.close();

await browser.close();
await server.close();
console.log('\n| measurement | value | target |\n| --- | --- | --- |');
for (const [what, value, target] of rows) console.log(`| ${what} | ${value} | ${target} |`);
process.exit(0);
