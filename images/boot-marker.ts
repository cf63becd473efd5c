// The boot marker: the line an image prints on its console when it is up, written by
// configs/skiff/base/root_overlay/etc/init.d/rcS as
//   SKIFF_READY <version> <seconds since the kernel started>
// The harness, the playground, tests and bench wait for it with the one pattern below.

export const BOOT_MARKER = 'SKIFF_READY';

/**
 * The whole marker line; up to its line end, so a console read mid-number does not match `1.2` of
 * `1.23`. Groups: 1 version, 2 seconds.
 */
export const BOOT_MARKER_LINE = /SKIFF_READY (\S+) ([\d.]+)\r?\n/;

export interface BootMarker {
  version: string;
  /** Seconds since the kernel started, as the guest counted them. */
  guestSeconds: number;
}

/** The fields of a match of BOOT_MARKER_LINE. */
export function bootMarker(match: RegExpExecArray): BootMarker {
  return { version: match[1]!, guestSeconds: Number(match[2]) };
}
