import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_DIR } from '../../images/paths.ts';
import type { StaticSite } from '../browser.ts';
import { Console } from '../console.ts';
import { RelayPort } from '../relay.ts';
import { type BootInfo, type Capability, type Target, waitForBoot } from '../target.ts';

type PageSession = { onOutput(l: (t: string) => void): () => void; powerCut(cold: boolean): Promise<unknown>; api: { send(t: string): Promise<void> } };

/**
 * The playground page in Chromium, driven by Playwright: the same tab a visitor gets (worker,
 * IndexedDB persist, fast boot), with the console bridged out of the page. A fresh browser
 * profile per target, so persist starts blank as on the other emulator targets.
 */
export class V86BrowserTarget implements Target {
  readonly kind = 'v86-browser';
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['power-cut', 'reboot']);
  private readonly relay = new RelayPort();
  readonly console = new Console(this.relay);
  private site?: StaticSite;
  private browser?: Browser;
  private page?: Page;
  private readonly listeners = new Set<(chunk: string) => void>();

  constructor(
    readonly name: string,
    private readonly imageDir: string,
    private readonly distDir = path.join(PROJECT_DIR, 'dist'),
  ) {}

  private async open(): Promise<Page> {
    // Loaded here: playwright-core is a development dependency, the other targets do without it.
    const { launchChromium, serveSite } = await import('../browser.ts');
    this.site = await serveSite(this.distDir, this.imageDir);
    this.browser = await launchChromium();
    const page = await (await this.browser.newContext()).newPage();
    await page.exposeFunction('__skiffHarnessOutput', (chunk: string) => {
      for (const l of this.listeners) l(chunk);
    });
    // Hook the session the moment the page creates it, so no byte of the first boot is missed, and
    // keep the page's terminal from typing into the machine while the harness drives it.
    // A page that breaks says so in the console log, where a failing scenario's tail shows it.
    page.on('pageerror', (err) => {
      for (const l of this.listeners) l(`\r\n[playground page error: ${err.message}]\r\n`);
    });
    // A string, not a function: the TypeScript loader would add helpers the page does not have.
    await page.addInitScript(`{
      let session;
      Object.defineProperty(window, 'skiff', {
        configurable: true,
        get: () => session,
        set: (s) => { session = s; s.harnessDriving = true; s.onOutput((t) => void window.__skiffHarnessOutput(t)); },
      });
    }`);
    this.relay.attach({
      // Playwright keeps the order of evaluations, so keystrokes arrive in order.
      write: (data) => void page.evaluate((t) => (window as unknown as { skiff: PageSession }).skiff.api.send(t), data).catch(() => undefined),
      onData: (l) => {
        this.listeners.add(l);
        return () => this.listeners.delete(l);
      },
    });
    // A crashed tab or a closed browser fails the waits at once instead of after their timeouts.
    page.on('crash', () => this.console.lost(new Error('the playground tab crashed')));
    this.browser.on('disconnected', () => this.console.lost(new Error('Chromium went away')));
    this.page = page;
    return page;
  }

  async powerCycle(hard: boolean): Promise<BootInfo> {
    if (!this.page) {
      const page = await this.open();
      this.console.skipAll();
      const started = Date.now();
      await page.goto(this.site!.url);
      return waitForBoot(this.console, started);
    }
    if (!hard) await this.console.run('sync', 30_000).catch(() => undefined);
    this.console.skipAll();
    const started = Date.now();
    // Cold, as the in-tab panel does: the harness proves real boots (fast boot has its own e2e test).
    await this.page.evaluate(() => (window as unknown as { skiff: PageSession }).skiff.powerCut(true));
    return waitForBoot(this.console, started);
  }

  async close(): Promise<void> {
    this.relay.attach(undefined);
    await this.browser?.close().catch(() => undefined);
    await this.site?.close();
  }
}
