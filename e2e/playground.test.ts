import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StaticSite } from '../harness/browser.ts';
import { PROJECT } from '../test/support/tree.ts';
import { buildTimeout, outDirOf, skiffAsync } from '../test/support/image.ts';
import { buildSite, launch, serveSite, terminalText, typeAndWait } from './support.ts';

let browser: Browser;
let context: BrowserContext;
let site: StaticSite;
let url = '';
const artifacts = path.join(PROJECT, 'test-results');

beforeAll(async () => {
  await buildSite();
  site = await serveSite();
  url = site.url;
  browser = await launch();
  // One profile for the whole file: IndexedDB (persist, saved states) carries over between loads.
  context = await browser.newContext({ viewport: { width: 1200, height: 760 }, acceptDownloads: true });
}, buildTimeout(1, 5 * 60_000));

// A test that failed half-way leaves its tab open: close it, or the next test meets a busy store.
afterEach(async () => {
  for (const p of context?.pages() ?? []) await p.close();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
}, 60_000);

async function openPlayground() {
  const page = await context.newPage();
  const t0 = Date.now();
  await page.goto(url);
  await waitForBoot(page, 1);
  return { page, ms: Date.now() - t0, how: await page.evaluate(() => document.body.dataset.ready) };
}

/** Waits until the page has seen `count` boots reach SKIFF_READY; on failure says what the page shows. */
async function waitForBoot(page: Page, count: number, timeout = 180_000) {
  try {
    await page.waitForFunction((n) => Number(document.body.dataset.boots ?? 0) >= n || document.body.dataset.damaged === '1', count, { timeout });
  } catch (err) {
    throw new Error(`no SKIFF_READY (boot ${count}): ${(err as Error).message}\nterminal:\n${(await terminalText(page)).trim().split('\n').slice(-25).join('\n')}`);
  }
  const damaged = await page.evaluate(() => document.body.dataset.damaged === '1' && document.getElementById('damaged-problem')!.textContent);
  if (damaged) throw new Error(`the playground reports a damaged persist store: ${damaged}`);
}

describe('the playground in Chromium', () => {
  it('boots SkiffOS to a shell, keeps a synced file across a reload, and fast-boots the second time', async () => {
    const first = await openPlayground();
    expect(first.how).toBe('cold');
    // DESIGN.md's target for a first visit, counted as this server sends the files (uncompressed).
    const firstVisit = site.served.reduce((n, f) => n + f.bytes, 0);
    expect(firstVisit, `first visit downloaded ${(firstVisit / 1e6).toFixed(2)} MB: ${site.served.map((f) => `${f.path} ${f.bytes}`).join(', ')}`).toBeLessThanOrEqual(8e6);
    await typeAndWait(first.page, 'uname -a', /Linux skiffos 6\.1\.\d+ .*i686/);
    await typeAndWait(first.page, 'echo from-the-browser > /mnt/persist/hello && sync && echo SYNCED-$((40+2))', /SYNCED-42/);
    fs.mkdirSync(artifacts, { recursive: true });
    await first.page.screenshot({ path: path.join(artifacts, 'playground.png') });
    // Give the fast-boot state and the last chunks their moment to reach IndexedDB, as a person would.
    await first.page.waitForFunction(() => document.getElementById('status-persist')!.textContent!.includes('last saved'), null, { timeout: 10_000 });
    await first.page.close();

    const second = await openPlayground();
    expect(second.how).toBe('fast');
    expect(second.ms).toBeLessThan(first.ms);
    await typeAndWait(second.page, 'cat /mnt/persist/hello', /from-the-browser\r?$/m);
    await second.page.close();
  }, 600_000);

  it('drops core into Debian in the tab, downloading only the files the container reads', async () => {
    const before = site.served.length;
    const { page } = await openPlayground();
    const coreBytes = (from: number) => site.served.slice(from).filter((f) => f.path.startsWith('image/core/flat/')).reduce((n, f) => n + f.bytes, 0);
    // Up to the prompt the core image costs its file table only, not one file of it.
    expect(coreBytes(before)).toBe(0);
    const atLogin = site.served.length;
    await typeAndWait(page, "su - core -c 'cat /etc/os-release; echo IN-$((6*7))'", /ID=debian[\s\S]*IN-42/, 240_000);
    const fetched = coreBytes(atLogin);
    const whole = fs.readdirSync(path.join(PROJECT, 'dist/image/core/flat')).reduce((n, f) => n + fs.statSync(path.join(PROJECT, 'dist/image/core/flat', f)).size, 0);
    expect(fetched).toBeGreaterThan(0);
    expect(fetched).toBeLessThan(whole / 4);
    // An interactive login reaches Debian's bash prompt in the tab.
    await typeAndWait(page, 'su - core', /core@skiffos[^\n]*\$\s*$/m, 120_000);
    await typeAndWait(page, 'echo "in $(. /etc/os-release; echo $ID) as $(id -un)"', /in debian as core/);
    await typeAndWait(page, 'exit', /logout/);
  }, 600_000);

  it('exports persist, wipes it, and gets the file back by importing the export', async () => {
    const { page } = await openPlayground();
    // Markers, not line anchors: the terminal's answer to a cursor query can land before the output.
    await typeAndWait(page, 'test -f /mnt/persist/hello && echo PRESENT-$((40+2))', /PRESENT-42/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const img = path.join(artifacts, 'persist-export.img');
    await download.saveAs(img);
    expect(fs.statSync(img).size).toBe(64 * 1024 * 1024);

    page.once('dialog', (d) => void d.accept());
    await page.click('#wipe');
    await waitForBoot(page, 2);
    await typeAndWait(page, 'ls /mnt/persist/hello 2>&1 | tail -1; echo CHECKED-$((1+1))', /No such file or directory[\s\S]*CHECKED-2/, 120_000);

    await page.setInputFiles('#import', img);
    await waitForBoot(page, 3);
    await typeAndWait(page, 'cat /mnt/persist/hello', /from-the-browser\r?$/m, 120_000);
    await page.close();
  }, 600_000);

  it('boots again after each Power cut, fast, keeping what was synced, and the shell keeps working', async () => {
    const { page } = await openPlayground();
    for (let cut = 1; cut <= 4; cut++) {
      await typeAndWait(page, `echo cut-${cut} > /mnt/persist/cut && sync && echo SYNCED-$((${cut}*100))`, new RegExp(`SYNCED-${cut * 100}`));
      await page.click('#power-cut');
      await waitForBoot(page, cut + 1);
      expect(await page.evaluate(() => document.body.dataset.ready)).toBe('fast');
      await typeAndWait(page, 'cat /mnt/persist/cut; echo READ-$((6*7))', new RegExp(`^cut-${cut}\\s*$[\\s\\S]*READ-42`, 'm'), 60_000);
    }
    await page.close();
  }, 600_000);

  it('says so in a second tab instead of running a second machine on the same persist store', async () => {
    const { page } = await openPlayground();
    const other = await context.newPage();
    await other.goto(url);
    await other.waitForSelector('body[data-busy="1"]', { timeout: 60_000 });
    expect(await other.locator('#progress-text').innerText()).toContain('already running in another tab');
    // The first tab is unaffected.
    await typeAndWait(page, 'echo STILL-$((3*3))', /STILL-9/);
  }, 600_000);

  it('embeds in a documentation page and runs its scripted demo', async () => {
    const page = await context.newPage();
    await page.goto(new URL('docs-example.html', url).href);
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const el = document.querySelector('skiff-terminal')!;
          el.addEventListener('skiff-demo-done', () => resolve(), { once: true });
        }),
    );
    const text = await page.locator('skiff-terminal .xterm-rows').innerText();
    expect(text).toMatch(/\/dev\/sda \/mnt\/persist ext4/);
    await page.screenshot({ path: path.join(artifacts, 'docs-example.png') });
    await page.close();
  }, 600_000);

  it('runs the harness scenarios live in the tab and shows each result with its console excerpt', async () => {
    const { page } = await openPlayground();
    await page.click('#run-tests');
    await page.waitForSelector('#tests[data-done="1"]', { timeout: 300_000 });
    const items = await page.locator('#test-results > li').evaluateAll((lis) => lis.map((li) => ({ cls: li.className, text: li.firstChild?.textContent ?? '' })));
    expect(items.map((i) => i.text.split(':')[0])).toEqual(['boot', 'persist', 'hostname', 'power-loss']);
    for (const i of items) expect(i.cls, await page.locator('#test-results').innerText()).toBe('pass');
    expect(items[0]!.text).toMatch(/boot: passed in [\d.]+ s — SKIFF_READY \S+ after [\d.]+ s of guest uptime/);
    expect(await page.locator('#test-results pre').first().innerText()).toContain('root@skiffos');
    await page.screenshot({ path: path.join(artifacts, 'playground-tests.png') });
    await page.close();
  }, 600_000);

  it('puts keyboard focus on the terminal and labels every control', async () => {
    const { page } = await openPlayground();
    expect(await page.evaluate(() => document.activeElement?.classList.contains('xterm-helper-textarea'))).toBe(true);
    const unlabeled = await page.evaluate(() =>
      [...document.querySelectorAll('button, input')].filter((el) => !(el.textContent?.trim() || el.closest('label')?.textContent?.trim() || el.getAttribute('aria-label'))).length,
    );
    expect(unlabeled).toBe(0);
    expect(await terminalText(page)).toContain('SKIFF_READY');
    await page.close();
  }, 600_000);

  it('is a harness target: skiff test --target v86-browser runs boot and persist through the page', async () => {
    const report = path.join(artifacts, 'v86-browser');
    const r = await skiffAsync(['test', '--target', 'v86-browser', '--image', outDirOf('playground'), '--scenario', 'boot,persist', '--report', report], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('2 passed, 0 failed');
    expect(r.stderr).toMatch(/ok {3}v86-browser: persist .* — wrote \S+, read it back after a reboot/);
    expect(fs.readFileSync(path.join(report, 'report.md'), 'utf8')).toContain('SKIFF_READY');
  }, 600_000);
});
