import type { ScenarioResult } from './run.ts';

const xml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');
const text = (r: ScenarioResult) => r.log.map((e) => e.data).join('').replace(/\r/g, '');

/** JUnit XML: one testsuite per target, one testcase per scenario, the console log as system-out. */
export function junit(results: ScenarioResult[]): string {
  const byTarget = new Map<string, ScenarioResult[]>();
  for (const r of results) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  const suites = [...byTarget].map(([target, rs]) => {
    const cases = rs.map((r) => {
      const inner =
        r.status === 'failed'
          ? `<failure message="${xml(r.error?.split('\n')[0] ?? 'failed')}">${xml(r.error ?? '')}</failure>`
          : r.status === 'skipped'
            ? `<skipped message="${xml(r.error ?? '')}"/>`
            : '';
      return `    <testcase classname="skiff.${xml(target)}" name="${xml(r.scenario)}" time="${(r.ms / 1000).toFixed(3)}">${inner}<system-out>${xml(text(r))}</system-out></testcase>`;
    });
    const count = (s: string) => rs.filter((r) => r.status === s).length;
    return `  <testsuite name="${xml(target)}" tests="${rs.length}" failures="${count('failed')}" skipped="${count('skipped')}" time="${(rs.reduce((n, r) => n + r.ms, 0) / 1000).toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${suites.join('\n')}\n</testsuites>\n`;
}

/** A readable report: a summary table, then each scenario with its notes, error and full console log. */
export function markdown(results: ScenarioResult[]): string {
  const out = ['# SkiffOS harness report', '', '| target | scenario | result | time |', '| --- | --- | --- | --- |'];
  for (const r of results) out.push(`| ${r.target} | ${r.scenario} | ${r.status} | ${(r.ms / 1000).toFixed(1)} s |`);
  for (const r of results) {
    out.push('', `## ${r.target}: ${r.scenario} — ${r.status}`);
    for (const n of r.notes) out.push(`- ${n}`);
    if (r.error) out.push('', '```', r.error, '```');
    if (r.log.length) out.push('', '<details><summary>console log</summary>', '', '```', ...r.log.map((e) => `[${(e.at / 1000).toFixed(3)}] ${e.dir === 'in' ? '> ' : ''}${e.data.replace(/\r/g, '').replace(/\n$/, '')}`), '```', '</details>');
  }
  return out.join('\n') + '\n';
}
