// The entry of the board families' `format` and `install` commands (buildroot/debian/flash.mk):
// the card facts come from the selected layers (SKIFF_CONFIG, which `skiff cmd` sets, or the
// workspace's), so `skiff cmd pi/common/format` writes the card PI_SD names.
import { contextFromEnv } from '../layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { selectedCard } from './card-layout.ts';
import { type FlashOptions, format, install } from './flash.ts';

const USAGE = `usage: flash-main.js <format|install> <layer>

  format   erase the card: MBR table, FAT boot partition, ext4 "persist" for the rest, then install
  install  write the built boot files to the boot partition; persist is not touched
  layer    the family layer whose commands these are (pi/common)

The selected layers say which variable names the card (CARD_DEVICE_VARIABLE: PI_SD, ORANGEPI_SD,
BANANAPI_SD, PINE64_SD=/dev/sdX, or an image file) and the boot partition's size.
SKIFF_YES=yes confirms without a prompt; SKIFF_FORCE=yes allows a non-removable disk;
SKIFF_BOOT_SIZE_MIB sets the boot partition size for format.
`;

export async function main(argv: string[], opts: FlashOptions = {}): Promise<number> {
  const [action, layer] = argv;
  if (action === '--help' || action === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    if ((action !== 'format' && action !== 'install') || !layer || argv.length !== 2) {
      throw new SkiffError(`flash: expected <format|install> <layer>, got "${argv.join(' ')}"`, 'e.g. format pi/common (the family layers\' extensions/Makefile pass it)');
    }
    const env = opts.env ?? process.env;
    const card = selectedCard(contextFromEnv(env), layer);
    await (action === 'format' ? format : install)(card, opts);
    return 0;
  } catch (err) {
    if (err instanceof SkiffError) {
      process.stderr.write(`skiff: error: ${err.describe()}\n`);
      return 1;
    }
    throw err;
  }
}
