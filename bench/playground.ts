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
const site = await serveSite();
const url = site.url;
const browser = await launch();
const context = await browser.newContext();

async function visit(): Promise<{ page: Page; ms: number; bytes: number }> {
  const page = await context.newPage();
  let bytes = 0;
  // Bytes on the wire: a server that sends a file with Content-Encoding: gzip would
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
const typed = Date.now();
await typeAndWait(first.page, 'echo bench > /mnt/persist/bench && sync && echo BENCH-$((1+1))', /BENCH-2/);
// Seen BENCH-2: sync had returned by now. The first save stamped after typing holds the write.
const synced = Date.now();
const savedAt = Number(await (await first.page.waitForFunction((t) => Number(document.body.dataset.savedAt ?? 0) >= t && document.body.dataset.savedAt, typed, { timeout: 10_000 })).jsonValue());
report('guest sync to the data being in IndexedDB', `≤ ${(Math.max(0, savedAt - synced) / 1000).toFixed(2)} s (save time minus when the output was seen)`, '≤ 1 s');
await first.page.waitForTimeout(1500);
await first.page.close();

const coreTable = site.served.filter((f) => f.path.startsWith('image/core/fs.json')).reduce((n, f) => n + f.bytes, 0);
if (coreTable) report('first visit: of which Skiff Core\'s 9p file table (core/fs.json.gz)', `${(coreTable / 1e6).toFixed(2)} MB`);

const second = await visit();
report('second visit: page load to SKIFF_READY (fast boot)', `${(second.ms / 1000).toFixed(1)} s`, '≤ 1 s');
if (coreTable) {
  // Skiff Core in the tab: the first `su - core` starts the container and reads its files over 9p.
  const coreFiles = (from: number) => site.served.slice(from).filter((f) => f.path.startsWith('image/core/flat/'));
  for (const [n, label] of [[1, 'first time (starts the container)'], [2, 'container running']] as const) {
    const from = site.served.length;
    const t = Date.now();
    // The n-th IN-42 on the terminal is this login's output (the typed line shows the unexpanded sum).
    await typeAndWait(second.page, `su - core -c 'echo IN-$(( 6 * 7 ))'`, n === 1 ? /IN-42/ : /IN-42[\s\S]*IN-42/, 300_000);
    const files = coreFiles(from);
    report(`browser: su - core to a command run in the container, ${label}`, `${((Date.now() - t) / 1000).toFixed(1)} s`);
    report(`browser: core image bytes downloaded for it, ${label}`, `${(files.reduce((sum, f) => sum + f.bytes, 0) / 1e6).toFixed(2)} MB in ${files.length} files`);
  }
}
await second.page.close();

await browser.close();
await site.close();
console.log('\n| measurement | value | target |\n| --- | --- | --- |');
for (const [what, value, target] of rows) console.log(`| ${what} | ${value} | ${target} |`);
process.exit(0);
