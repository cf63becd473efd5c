// `npm test` is one vitest run whose unit project goes first (sequence.groupOrder): when a unit
// test fails, this reporter cancels the run before the integration and e2e files start, so a
// broken unit test costs a minute, not the half hour of builds and boots behind it.
import type { Reporter, TestModule, Vitest } from 'vitest/node';

export default class UnitFirstReporter implements Reporter {
  private vitest!: Vitest;
  private failedUnit: string[] = [];

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestModuleEnd(module: TestModule): void {
    if (module.project.name === 'unit' && module.state() === 'failed') this.failedUnit.push(module.moduleId);
  }

  async onTestModuleQueued(module: TestModule): Promise<void> {
    if (module.project.name === 'unit' || this.failedUnit.length === 0) return;
    this.vitest.logger.error(`\nThe unit tier failed (${this.failedUnit.length} file(s)): integration and e2e are not run.\n`);
    this.failedUnit = [];
    await this.vitest.cancelCurrentRun('test-failure');
  }
}
