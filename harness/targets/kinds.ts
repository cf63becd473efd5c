/** The emulator targets: the boot method an image's manifest must name, and the layer that builds one. */
export const EMULATORS = {
  v86: { bootMethod: 'v86', build: 'browser/v86' },
  qemu: { bootMethod: 'qemu', build: 'virt/qemu' },
  // The playground page in Chromium (needs `npm run build` once); the tab boots this image.
  'v86-browser': { bootMethod: 'v86', build: 'browser/v86' },
} as const;

export type EmulatorKind = keyof typeof EMULATORS;

export const EMULATOR_KINDS = Object.keys(EMULATORS) as [EmulatorKind, ...EmulatorKind[]];
