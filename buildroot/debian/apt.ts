import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { cacheDir } from '../../images/paths.ts';
import type { Progress } from './progress.ts';
import { run } from './run.ts';
import { type AptSource, archiveOf, debianSources, urlFor } from './sources.ts';

/** One resolved Debian package, as the lock file records it. */
export interface LockedPackage {
  name: string;
  version: string;
  sha256: string;
  size: number;
  /** Archive root path (e.g. `/debian`) and the file under it: no host name is recorded. */
  archive: string;
  filename: string;
}

/**
 * apt with its own state under the cache (sources, lists, an empty dpkg status), so resolving
 * target packages never touches the host's package state.
 */
export class TargetApt {
  readonly root: string;
  readonly sources: AptSource[];
  private readonly config: string;

  constructor(
    ctx: Context,
    readonly arch: string,
    suite?: string,
    components: string[] = ['main'],
  ) {
    // One apt state per list of sources: switching one state's sources would refetch its indexes.
    const extra = components.filter((c) => c !== 'main');
    this.root = path.join(cacheDir(ctx), 'apt', [arch, ...(suite ? [suite] : []), ...extra].join('-'));
    this.sources = debianSources(ctx.env, suite, components);
    this.config = path.join(this.root, 'apt.conf');
    for (const d of ['state/lists/partial', 'cache/archives/partial', 'sources.list.d', 'preferences.d']) fs.mkdirSync(path.join(this.root, d), { recursive: true });
    const status = path.join(this.root, 'state/status');
    if (!fs.existsSync(status)) fs.writeFileSync(status, '');
    fs.writeFileSync(
      path.join(this.root, 'sources.list'),
      this.sources.map((s) => `deb [${s.signedBy ? `signed-by=${s.signedBy} ` : ''}arch=${arch}] ${s.uri} ${s.suite} ${s.components.join(' ')}`).join('\n') + '\n',
    );
    const r = this.root;
    fs.writeFileSync(
      this.config,
      [
        `Dir::State "${r}/state";`,
        `Dir::State::status "${r}/state/status";`,
        `Dir::Cache "${r}/cache";`,
        `Dir::Etc::SourceList "${r}/sources.list";`,
        `Dir::Etc::SourceParts "${r}/sources.list.d";`,
        `Dir::Etc::PreferencesParts "${r}/preferences.d";`,
        `APT::Architecture "${arch}";`,
        `APT::Architectures { "${arch}"; };`,
        'APT::Install-Recommends "false";',
        'Acquire::Languages "none";',
        'Debug::NoLocking "true";',
        'APT::Sandbox::User "root";',
      ].join('\n') + '\n',
    );
  }

  private apt(cmd: string, args: string[]) {
    return run(cmd, args, { env: { ...process.env, APT_CONFIG: this.config, LC_ALL: 'C' }, tail: 20 });
  }

  /**
   * Refreshes the package lists, retrying a failing index (a mirror mid-sync fails one now and
   * then). What still fails after the retries is returned, to be reported, never hidden.
   */
  async update(progress: Progress): Promise<string[]> {
    let failures: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.apt('apt-get', ['update']);
        return [];
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        failures = text.split('\n').filter((l) => /^(E: Failed to fetch|Err:)/.test(l));
        if (failures.length === 0) throw err;
        progress.tick(`apt-get update (${this.arch}) failed on attempt ${attempt}: ${failures[0]}`, 0, true);
        if (attempt < 3) await new Promise((r) => setTimeout(r, 3000 * attempt));
      }
    }
    const main = this.sources.find((s) => !/-(security|updates)$/.test(s.suite));
    // The release's own indexes are needed; -updates and -security may lag (a mirror mid-sync).
    if (failures.some((f) => main && main.components.some((c) => f.includes(`${main.suite}/${c}`)) && !f.includes(`${main.suite}-`))) {
      throw new SkiffError(`the ${this.arch} package index of ${main!.suite} cannot be downloaded:\n${failures.join('\n')}`, 'check the network and the mirror, then run the build again');
    }
    return failures;
  }

  /** Resolves packages and every package they depend on, with versions, hashes and download paths. */
  async resolve(wanted: { name: string; layer: string }[]): Promise<LockedPackage[]> {
    let sim: string;
    try {
      sim = await this.apt('apt-get', ['install', '-s', '--no-install-recommends', ...wanted.map((w) => w.name)]);
    } catch (err) {
      const missing = [...String((err as Error).message).matchAll(/Unable to locate package (\S+)|Package '?([^' ]+)'? has no installation candidate/g)].map((m) => m[1] ?? m[2]);
      if (missing.length > 0) {
        const by = missing.map((m) => `${m} (asked by ${wanted.find((w) => w.name === m)?.layer ?? 'a layer'} in debian/packages)`);
        throw new SkiffError(`Debian ${this.arch} has no package ${by.join(', ')}`, 'fix the name in that layer\'s debian/packages (`apt-cache search` finds names)');
      }
      throw err;
    }
    const names = [...sim.matchAll(/^Inst (\S+) \((\S+) /gm)].map((m) => `${m[1]}=${m[2]}`);
    const uris = await this.apt('apt-get', ['download', '--print-uris', ...names]);
    const out: LockedPackage[] = [];
    for (const m of uris.matchAll(/^'([^']+)' (\S+) (\d+) SHA256:([0-9a-f]{64})$/gm)) {
      const [, url, file, size, sha256] = m as unknown as [string, string, string, string, string];
      const { archive, filename } = archiveOf(url, this.sources);
      const [name, version] = decodeURIComponent(file).replace(/\.deb$/, '').split('_') as [string, string];
      out.push({ name, version: version.replace('%3a', ':'), sha256, size: Number(size), archive, filename });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}

/** Downloads locked packages into the cache (verified by sha256), returning each .deb's path. */
export async function fetchPackages(ctx: Context, sources: AptSource[], pkgs: LockedPackage[], progress: Progress): Promise<Map<string, string>> {
  const dir = path.join(cacheDir(ctx), 'debs');
  fs.mkdirSync(dir, { recursive: true });
  const paths = new Map<string, string>();
  const total = pkgs.reduce((n, p) => n + p.size, 0);
  let got = 0;
  for (const p of pkgs) {
    const dest = path.join(dir, path.basename(p.filename));
    if (!(fs.existsSync(dest) && sha256File(dest) === p.sha256)) {
      const url = urlFor(p.archive, p.filename, sources);
      if (!url) throw new SkiffError(`no configured apt source serves ${p.archive} (needed for ${p.name} ${p.version})`, 'add that Debian archive to the host\'s apt sources, or run `skiff lock --update`');
      const res = await fetch(url).catch((err: Error) => {
        throw new SkiffError(`cannot download ${p.name} ${p.version}: ${err.message}`, 'check the network; the build resumes where it stopped');
      });
      if (res.status === 404) {
        throw new SkiffError(`the locked ${p.name} ${p.version} is no longer on the mirror (${p.archive}/${p.filename})`, 'run `skiff lock --update` to move to the versions the mirror has now');
      }
      if (!res.ok) throw new SkiffError(`downloading ${p.name}: HTTP ${res.status} ${res.statusText}`, 'try again later');
      const data = Buffer.from(await res.arrayBuffer());
      const hash = crypto.createHash('sha256').update(data).digest('hex');
      if (hash !== p.sha256) throw new SkiffError(`${p.name} ${p.version} downloaded with sha256 ${hash}, the lock says ${p.sha256}`, 'the mirror serves different bytes: run `skiff lock --update` if that is expected');
      const tmp = `${dest}.partial-${process.pid}`;
      fs.writeFileSync(tmp, data);
      fs.renameSync(tmp, dest);
    }
    got += p.size;
    progress.tick(`packages: ${pkgs.indexOf(p) + 1}/${pkgs.length}, ${(got / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`, 2000);
    paths.set(p.name, dest);
  }
  progress.done(`${pkgs.length} Debian packages ready (${(total / 1e6).toFixed(1)} MB)`);
  return paths;
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
