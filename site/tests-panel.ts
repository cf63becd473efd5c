// "Run tests": the harness's scenarios run live against the machine in this tab.
import { Console, type SerialPort } from '../harness/console.ts';
import { runScenarios } from '../harness/run.ts';
import { BUILTIN_SCENARIOS } from '../harness/scenarios.ts';
import { type BootInfo, type Capability, type Target, waitForBoot } from '../harness/target.ts';
import type { Session } from './session.ts';

/** The playground's machine as a harness target: the same scenarios as on QEMU or a board. */
class BrowserTarget implements Target {
  readonly name = 'this tab';
  readonly kind = 'v86-browser';
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['power-cut', 'reboot']);
  readonly console: Console;

  constructor(private readonly session: Session) {
    const port: SerialPort = { write: (t) => void session.api.send(t), onData: (l) => session.onOutput(l) };
    this.console = new Console(port);
  }

  async powerCycle(hard: boolean): Promise<BootInfo> {
    if (!hard) await this.console.run('sync', 30_000).catch(() => undefined);
    this.console.skipAll();
    const started = Date.now();
    this.session.terminal.writeln(hard ? '\r\n[harness: power cut]' : '\r\n[harness: reboot]');
    await this.session.powerCut(true);
    return waitForBoot(this.console, started);
  }

  async close(): Promise<void> {
    this.console.close();
  }
}

let running = false;

export async function runTests(session: Session, panel: HTMLElement, list: HTMLElement): Promise<void> {
  if (running) return;
  running = true;
  panel.classList.add('shown');
  list.replaceChildren();
  const target = new BrowserTarget(session);
  session.harnessDriving = true;
  const items = new Map<string, HTMLLIElement>();
  for (const s of BUILTIN_SCENARIOS) {
    const li = document.createElement('li');
    li.textContent = `${s.name}: ${s.description} — running…`;
    list.append(li);
    items.set(s.name, li);
  }
  try {
    await runScenarios(target, BUILTIN_SCENARIOS, (r) => {
      const li = items.get(r.scenario)!;
      li.className = r.status === 'passed' ? 'pass' : r.status === 'failed' ? 'fail' : '';
      li.textContent = `${r.scenario}: ${r.status} in ${(r.ms / 1000).toFixed(1)} s${r.notes.length ? ` — ${r.notes.join('; ')}` : ''}${r.error ? ` — ${r.error.split('\n')[0]}` : ''}`;
      const pre = document.createElement('pre');
      pre.textContent = r.log.map((e) => e.data).join('').replace(/\r/g, '').split('\n').slice(-12).join('\n');
      li.append(pre);
    });
  } finally {
    await target.close();
    session.harnessDriving = false;
    running = false;
    panel.dataset.done = '1';
  }
}
