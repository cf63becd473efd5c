#!/usr/bin/env node
// Entry for the board layers' `format` and `install` commands: flash-main.ts run through tsx, like bin/skiff.js.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./flash-main.ts');
process.exitCode = await main(process.argv.slice(2));
