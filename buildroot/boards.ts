import type { Context } from './layers/context.ts';
import { discover } from './layers/discover.ts';
import { SkiffError } from '../lib/errors.ts';
import { unquote } from './layers/fragments.ts';
import { readMeta } from './layers/metadata.ts';
import { type Resolution, resolveSelection } from './layers/workspace.ts';
import { planBuild } from './debian/compile.ts';

/** One board or machine layer, resolved as `SKIFF_CONFIG=<layer> skiff resolve` would. */
export interface BoardRow {
  board: string;
  layer: string;
  arch: string;
  bootloader: string;
  kernel: string;
  /** `yes` when planBuild accepts the stack, else `no: <what to supply>`. */
  offline: string;
  /** Why planBuild refused the stack, in full (OFFLINE_BLOCKER or the backend's reason). */
  blocker?: string;
  bootTested: string;
  chain: string[];
}

/** A layer's first description clause: "Banana Pi M1 (Allwinner A20, ...): ..." → "Banana Pi M1". */
export function boardName(description: string): string {
  return description
    .split(/[:(;]/)[0]!
    .split(/ (?:with|booting) /)[0]!
    .replace(/\.$/, '')
    .trim();
}

/** Shortens an OFFLINE_BLOCKER to the variables it asks for; the full text stays in --json. */
export function shortBlocker(blocker: string): string {
  const vars = [...new Set(blocker.match(/\bSKIFF_[A-Z0-9_]+/g) ?? [])];
  if (vars.length > 0) return `needs ${vars.join(', ')}`;
  const first = blocker.split(/[:;]/)[0]!.trim();
  return first.length > 60 ? `${first.slice(0, 57)}...` : first;
}

function settingsOf(r: Resolution): Map<string, { value: string; layer: string }> {
  return new Map([...r.configuration.configs.debian.final.values()].map((s) => [s.symbol, { value: unquote(s.value) ?? '', layer: s.layer }]));
}

function bootloader(get: (k: string) => string | undefined): string {
  const method = get('BOOT_METHOD');
  const uboot = [get('UBOOT_PACKAGE'), get('UBOOT_TARGET')].filter(Boolean).join(' ');
  // The Pi's GPU firmware loads the kernel itself; its U-Boot is only an optional chain-loader.
  if (method === 'rpi-firmware') return uboot ? `rpi-firmware (or ${uboot})` : method;
  return uboot || method || 'none';
}

export function boardRow(ctx: Context, id: string, r = resolveSelection(ctx, { config: id, from: 'SKIFF_CONFIG' })): BoardRow {
  const settings = settingsOf(r);
  const get = (k: string) => settings.get(k)?.value || undefined;
  let offline = 'yes';
  let blocker: string | undefined;
  try {
    planBuild(r);
  } catch (err) {
    if (!(err instanceof SkiffError)) throw err;
    blocker = err.message;
    const stated = get('OFFLINE_BLOCKER');
    if (get('OFFLINE') === 'no' && stated && err.message.includes(stated)) {
      blocker = stated;
      offline = `no: ${shortBlocker(stated)}`;
    } else offline = `no: ${err.message.replace(`${r.chain.join(',')} `, '')}`;
  }
  // Only the layer's own BOOT_TESTED counts: a layer stacked on a tested one was not booted itself.
  const tested = settings.get('BOOT_TESTED');
  return {
    board: boardName(readMeta(r.catalog.layers.get(id)!).description) || id,
    layer: id,
    arch: get('ARCH')!,
    bootloader: bootloader(get),
    kernel: get('KERNEL_DEFCONFIG') ?? 'none',
    offline,
    ...(blocker !== undefined ? { blocker } : {}),
    bootTested: tested && tested.layer === id && tested.value ? tested.value : 'no',
    chain: r.chain,
  };
}

/**
 * Every listed layer whose resolved stack sets ARCH, except the `<ns>/common` layers: those hold a
 * family's shared settings and say to add a board layer on top.
 */
export function boardRows(ctx: Context): BoardRow[] {
  const catalog = discover(ctx);
  const rows: BoardRow[] = [];
  for (const id of [...catalog.layers.keys()].sort()) {
    const layer = catalog.layers.get(id)!;
    if (id.endsWith('/common') || readMeta(layer).unlisted) continue;
    const r = resolveSelection(ctx, { config: id, from: 'SKIFF_CONFIG' });
    if (!settingsOf(r).get('ARCH')?.value) continue;
    rows.push(boardRow(ctx, id, r));
  }
  return rows;
}

const COLUMNS: [keyof BoardRow, string][] = [
  ['board', 'board'],
  ['layer', 'layer'],
  ['arch', 'arch'],
  ['bootloader', 'bootloader'],
  ['kernel', 'kernel'],
  ['offline', 'offline'],
  ['bootTested', 'boot-tested'],
];

/** What the table cannot say in a cell; update it when the backend builds board images. */
export const BOARDS_NOTE =
  'offline: `yes` when the debian backend accepts the layer stack with Debian alone, else what it would need from you ' +
  '(the full `OFFLINE_BLOCKER` is in `skiff boards --json`); the backend does not take such inputs yet, so those builds stop ' +
  'early with that message. For a U-Boot board or a Raspberry Pi, `yes` means `skiff compile` writes its card image (`sdcard.img`: ' +
  "U-Boot from Debian's package, or the Pi's GPU firmware from Debian's `raspi-firmware` with `config.txt` and `cmdline.txt`; the " +
  'boot partition; persist); `npm run build:all-boards` builds them all, and `npm test` builds and checks the cards of ' +
  '`orangepi/zero`, `pi/3` and `pine64/rock64`. For an EFI or BIOS machine it means a disk image (`disk.img`: GPT with ' +
  'rEFInd on the EFI system partition, or MBR with syslinux; the kernel, initramfs and persist; `virt/virtualbox` also ' +
  '`disk.vdi`); `npm test` boots the one of `pcengines/apu2`, `npm run test:extra` the one of `intel/desktop`. ' +
  '`virt/docker` and `virt/wsl` run on their host\'s kernel and get no kernel: the root filesystem as `rootfs.tar` for ' +
  '`docker import`, or `rootfs.tar.gz` for `wsl --import`; `npm run test:extra` starts each in a chroot, neither has run in ' +
  'Docker or WSL here. ' +
  'boot-tested: how the test suite boots that image; `no` means this project has never booted it.';

/** Word-wraps a paragraph at `width` columns (the README keeps its lines short). */
function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

function cells(row: BoardRow): string[] {
  return COLUMNS.map(([key]) => String(row[key]));
}

export function renderText(rows: BoardRow[]): string {
  const table = [COLUMNS.map(([, h]) => h.toUpperCase()), ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const lines = table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join(''));
  return `${lines.join('\n')}\n\n${wrap(BOARDS_NOTE.replace(/`/g, ''))}\n`;
}

export function renderMarkdown(rows: BoardRow[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const table = [COLUMNS.map(([, h]) => h), ...rows.map((row) => cells(row).map((c, i) => (COLUMNS[i]![0] === 'layer' ? `\`${c}\`` : esc(c))))];
  const widths = COLUMNS.map((_, i) => Math.max(3, ...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(table[0]!), line(widths.map((w) => '-'.repeat(w))), ...table.slice(1).map(line), '', wrap(BOARDS_NOTE), ''].join('\n');
}
