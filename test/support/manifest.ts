import type { Manifest } from '../../images/manifest.ts';

/** A manifest as `skiff compile` writes it, of a small made-up build; `over` replaces top-level fields. */
export function sampleManifest(over: Partial<Manifest> = {}): Manifest {
  return {
    skiff: '0.1.0',
    backend: 'debian',
    sourceDateEpoch: 1765000000,
    chain: ['virt/qemu'],
    arch: 'amd64',
    bootMethod: 'qemu',
    layers: [{ id: 'virt/qemu', role: 'chain', path: 'configs/virt/qemu', files: { 'debian/config': 'ab12' } }],
    kernel: { release: '6.1.0', source: 'linux-source-6.1', sourceVersion: '6.1.0-1', defconfig: 'tinyconfig', configSha256: 'cd34', dropped: [] },
    packages: [{ name: 'busybox-static', version: '1:1.35.0-4', sha256: 'ef56', arch: 'amd64' }],
    hostFiles: {},
    qemu: { binary: 'qemu-system-x86_64' },
    outputs: { bzImage: { size: 1000, sha256: '01' }, 'initramfs.cpio.zst': { size: 2000, sha256: '02' } },
    warnings: [],
    ...over,
  };
}
