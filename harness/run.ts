import type { LogEntry } from './console.ts';
import type { Deployer } from './deployer.ts';
import { DEPLOY_STEP, type Scenario } from './scenarios.ts';
import type { Target } from './target.ts';

export interface ScenarioResult {
  target: string;
  scenario: string;
  status: 'passed' | 'failed' | 'skipped';
  ms: number;
  error?: string;
  notes: string[];
  /** The console output while the scenario ran, with timestamps. */
  log: LogEntry[];
}

/**
 * Runs scenarios in order on one target. A failing or hanging scenario fails alone (with the
 * console tail in its error); the run goes on to the next one, unless the deploy step failed.
 */
export async function runScenarios(
  target: Target,
  scenarios: Scenario[],
  onResult: (r: ScenarioResult) => void = () => {},
  timeoutMs = 10 * 60_000,
  deployer?: Deployer,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  let booted = false;
  let deployFailed = false;
  for (const s of scenarios) {
    const missing = s.needs.filter((n) => !target.capabilities.has(n) && !(n === 'deploy' && deployer));
    const skip = deployFailed ? 'the deploy step failed: the target does not run the build' : missing.length > 0 ? `${target.kind} target lacks ${missing.join(', ')}${missing.includes('deploy') ? ' (run skiff test with --deploy)' : ''}` : undefined;
    if (skip) {
      const r: ScenarioResult = { target: target.name, scenario: s.name, status: 'skipped', ms: 0, error: skip, notes: [], log: [] };
      results.push(r);
      onResult(r);
      continue;
    }
    const notes: string[] = [];
    const started = Date.now();
    let status: ScenarioResult['status'] = 'passed';
    let error: string | undefined;
    const logStart = () => target.console.log.length;
    let from = booted ? logStart() : 0;
    try {
      if (!booted && s.name !== 'boot') {
        await target.powerCycle(false);
        from = 0;
      }
      booted = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = Math.max(timeoutMs, s.timeoutMs ?? 0);
      await Promise.race([
        s.run({ target, deployer, note: (t) => notes.push(t) }),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`scenario ${s.name} took longer than ${bound / 1000} s`)), bound))),
      ]).finally(() => clearTimeout(timer));
    } catch (err) {
      status = 'failed';
      error = err instanceof Error ? err.message : String(err);
      booted = false;
      // A failed deploy step leaves the target without the build: nothing after it is tested.
      deployFailed = s.name === DEPLOY_STEP;
    }
    const log = target.console.log.slice(from);
    const r: ScenarioResult = { target: target.name, scenario: s.name, status, ms: Date.now() - started, error, notes, log };
    results.push(r);
    onResult(r);
  }
  return results;
}
