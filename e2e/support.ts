import path from 'node:path';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { serveSite as serveDist, type StaticSite } from '../harness/browser.ts';
import { buildImage } from '../test/support/image.ts';
import { IMAGES } from '../test/support/test-kernels.ts';
import { PROJECT } from '../test/support/tree.ts';

export { CHROMIUM, launchChromium as launch } from '../harness/browser.ts';

/** Builds the playground image and the static site into dist/, as `npm run build` does. */
export async function buildSite(): Promise<void> {
  await buildImage(IMAGES.i386.v86Core, 'playground');
  await build({ configFile: path.join(PROJECT, 'vite.config.ts'), logLevel: 'warn' });
}

/** Serves dist/ on 127.0.0.1 like any static host would (the harness's server, as v86-browser uses). */
export function serveSite(): Promise<StaticSite> {
  return serveDist(path.join(PROJECT, 'dist'));
}

/** Everything the page's terminal has shown, as text. */
export async function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const s = (window as unknown as { skiff: { terminal: { buffer: { active: { length: number; getLine(i: number): { translateToString(trim: boolean): string } | undefined } } } } }).skiff;
    const b = s.terminal.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  });
}

/** Types a command into the page's terminal and waits for a line of its output to match. */
export async function typeAndWait(page: Page, command: string, expect: RegExp, timeoutMs = 30_000): Promise<string> {
  await page.locator('#terminal .xterm-helper-textarea').focus();
  await page.keyboard.type(command + '\n', { delay: 5 });
  const started = Date.now();
  for (;;) {
    const text = await terminalText(page);
    if (expect.test(text)) return text;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${expect} after typing ${command}; terminal:\n${text.trim().split('\n').slice(-25).join('\n')}`);
    await page.waitForTimeout(200);
  }
}
