import '@xterm/xterm/css/xterm.css';
import { Session } from './session.ts';

/**
 * <skiff-terminal> boots SkiffOS inline in any page. Attributes:
 *  - image: base URL of the built image (default: the playground's image/ folder next to this script)
 *  - demo: commands to type once the system is up, separated by newlines or ";;"
 *  - fast-boot: "off" to always boot cold
 * It dispatches `skiff-ready` when booted and `skiff-demo-done` when the demo has run.
 */
class SkiffTerminal extends HTMLElement {
  private session?: Session;

  connectedCallback(): void {
    if (this.session) return;
    const box = document.createElement('div');
    box.style.cssText = 'width:100%;height:100%;min-height:16rem;background:#0b1020;padding:4px;box-sizing:border-box';
    box.setAttribute('role', 'region');
    box.setAttribute('aria-label', 'SkiffOS terminal');
    this.append(box);
    const image = this.getAttribute('image') ?? new URL('image/', import.meta.url.replace(/assets\/[^/]*$/, '')).href;
    let readyOnce = false;
    this.session = new Session(box, {
      ready: () => {
        if (readyOnce) return;
        readyOnce = true;
        this.dispatchEvent(new CustomEvent('skiff-ready'));
        void this.runDemo();
      },
    });
    const session = this.session;
    void session.boot(image, this.getAttribute('fast-boot') !== 'off').then((r) => {
      // Busy (another tab runs this store) or damaged: say it where the reader looks.
      if (r.status !== 'running') session.terminal.writeln(r.problem ?? r.status);
    });
  }

  private async runDemo(): Promise<void> {
    const s = this.session!;
    const steps = (this.getAttribute('demo') ?? '').split(/\n|;;/).map((l) => l.trim()).filter(Boolean);
    let seen = '';
    const off = s.onOutput((t) => (seen = (seen + t).slice(-4000)));
    const prompt = async () => {
      for (let i = 0; i < 300 && !/[#$] (\x1b\[6n)?$/.test(seen); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await prompt();
    for (const step of steps) {
      seen = '';
      // Typed a key at a time, so a reader can follow.
      for (const ch of step) {
        void s.api.send(ch);
        await new Promise((r) => setTimeout(r, 25));
      }
      void s.api.send('\n');
      await new Promise((r) => setTimeout(r, 100));
      await prompt();
    }
    off();
    this.dispatchEvent(new CustomEvent('skiff-demo-done'));
  }
}

customElements.define('skiff-terminal', SkiffTerminal);
