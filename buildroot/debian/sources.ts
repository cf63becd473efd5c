import fs from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../../lib/errors.ts';

/** One Debian archive the host's apt knows: `uri` + `suite` + components. */
export interface AptSource {
  uri: string;
  suite: string;
  components: string[];
  signedBy?: string;
}

function codename(): string {
  const osRelease = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
  return /^VERSION_CODENAME=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, '') || 'bookworm';
}

function parseDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(stanza)?.[1]?.trim();
    if (!(field('Types') ?? '').split(/\s+/).includes('deb') || /^Enabled:\s*no/im.test(stanza)) continue;
    for (const uri of (field('URIs') ?? '').split(/\s+/).filter(Boolean)) {
      for (const suite of (field('Suites') ?? '').split(/\s+/).filter(Boolean)) {
        out.push({ uri, suite, components: (field('Components') ?? '').split(/\s+/).filter(Boolean), signedBy: field('Signed-By') });
      }
    }
  }
  return out;
}

function parseOneLine(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const signedBy = /signed-by=(\S+)/.exec(m[1] ?? '')?.[1];
    out.push({ uri: m[2]!, suite: m[3]!, components: m[4]!.split(/\s+/), signedBy });
  }
  return out;
}

/**
 * The Debian archives to take target packages from: the host's own apt sources for its release
 * (so whatever mirror the host uses, we use), or SKIFF_DEBIAN_MIRROR when set. `suite` (a layer's
 * DEBIAN_SUITE) takes another release from the same archives: bookworm has no riscv64, trixie has.
 * `components` beyond `main` (a layer's FIRMWARE_COMPONENT, e.g. non-free-firmware) come from the
 * same archives: the build's own apt state lists them, the host's sources are left as they are.
 */
export function debianSources(env: NodeJS.ProcessEnv, suite?: string, components: string[] = ['main']): AptSource[] {
  for (const c of components) {
    if (!/^[a-z][a-z-]*$/.test(c)) throw new SkiffError(`"${c}" is not a Debian archive component`, 'e.g. FIRMWARE_COMPONENT=non-free-firmware');
  }
  const release = codename();
  const target = suite || release;
  if (!/^[a-z]+$/.test(target)) throw new SkiffError(`DEBIAN_SUITE=${target} is not a Debian release codename`, 'e.g. DEBIAN_SUITE=trixie');
  const mirror = env.SKIFF_DEBIAN_MIRROR;
  if (mirror) return [target, `${target}-updates`].map((s) => ({ uri: mirror, suite: s, components }));
  const all: AptSource[] = [];
  if (fs.existsSync('/etc/apt/sources.list')) all.push(...parseOneLine(fs.readFileSync('/etc/apt/sources.list', 'utf8')));
  const partsDir = '/etc/apt/sources.list.d';
  if (fs.existsSync(partsDir)) {
    for (const f of fs.readdirSync(partsDir).sort()) {
      const text = fs.readFileSync(path.join(partsDir, f), 'utf8');
      if (f.endsWith('.sources')) all.push(...parseDeb822(text));
      else if (f.endsWith('.list')) all.push(...parseOneLine(text));
    }
  }
  // Keep Debian's own suites of this release (not third-party repositories such as node's).
  const ours = all.filter((s) => (s.suite === release || s.suite.startsWith(`${release}-`)) && s.components.includes('main'));
  if (ours.length === 0) {
    throw new SkiffError(`the host's apt sources have no Debian ${release} archive`, `set SKIFF_DEBIAN_MIRROR to a Debian mirror URL`);
  }
  return ours.map((s) => ({ ...s, suite: target + s.suite.slice(release.length), components }));
}

/** The archive root a download URL belongs to, e.g. `/debian-security`, so a lock names no host. */
export function archiveOf(url: string, sources: AptSource[]): { archive: string; filename: string } {
  for (const s of sources) {
    const base = s.uri.replace(/\/+$/, '') + '/';
    if (url.startsWith(base)) return { archive: new URL(base).pathname.replace(/\/+$/, ''), filename: decodeURIComponent(url.slice(base.length)) };
  }
  throw new SkiffError(`downloaded URL ${url} belongs to no configured archive`);
}

export function urlFor(archive: string, filename: string, sources: AptSource[]): string | undefined {
  const s = sources.find((x) => new URL(x.uri.replace(/\/+$/, '') + '/').pathname.replace(/\/+$/, '') === archive);
  return s ? `${s.uri.replace(/\/+$/, '')}/${filename.split('/').map(encodeURIComponent).join('/')}` : undefined;
}
