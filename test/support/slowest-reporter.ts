// A vitest reporter (next to the default one) that ends a run with where its time went: the
// slowest files, and the slowest tests and beforeAll/afterAll hooks (the integration files
// build their images in beforeAll), so a run that got slower says where.
import path from 'node:path';
import type { ReportedHookContext, Reporter, TestModule, Vitest } from 'vitest/node';

const SHOWN = 12;

const clock = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

export default class SlowestReporter implements Reporter {
  private vitest!: Vitest;
  private readonly hookStarts = new Map<string, number>();
  private readonly hooks: { label: string; ms: number }[] = [];

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  private where(module: TestModule): string {
    return `${module.project.name} ${path.relative(this.vitest.config.root, module.moduleId)}`;
  }

  // Hooks carry no duration in the reporter API: timed here, from start to end.
  onHookStart(hook: ReportedHookContext): void {
    if (hook.name === 'beforeAll' || hook.name === 'afterAll') this.hookStarts.set(`${hook.name} ${hook.entity.id}`, Date.now());
  }

  onHookEnd(hook: ReportedHookContext): void {
    if (hook.name !== 'beforeAll' && hook.name !== 'afterAll') return;
    const started = this.hookStarts.get(`${hook.name} ${hook.entity.id}`);
    if (started === undefined) return;
    const module = hook.entity.type === 'module' ? hook.entity : hook.entity.module;
    const suite = hook.entity.type === 'suite' ? ` > ${hook.entity.fullName}` : '';
    this.hooks.push({ label: `${this.where(module)}${suite} > (${hook.name})`, ms: Date.now() - started });
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const files = modules.map((m) => {
      const d = m.diagnostic();
      return { label: this.where(m), ms: d.environmentSetupDuration + d.prepareDuration + d.collectDuration + d.setupDuration + d.duration };
    });
    const tests = modules.flatMap((m) =>
      [...m.children.allTests()].map((t) => ({ label: `${this.where(m)} > ${t.fullName}`, ms: t.diagnostic()?.duration ?? 0 })),
    );
    const top = (rows: { label: string; ms: number }[]) =>
      rows
        .sort((a, b) => b.ms - a.ms)
        .slice(0, SHOWN)
        .map((r) => `  ${clock(r.ms).padStart(7)}  ${r.label}`);
    if (files.length === 0) return;
    this.vitest.logger.log(['', `Slowest files (of ${files.length}):`, ...top(files), '', 'Slowest tests and hooks:', ...top([...tests, ...this.hooks]), ''].join('\n'));
  }
}
