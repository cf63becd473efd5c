#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so a fresh clone needs `npm install` and no build step.
import { register } from 'tsx/esm/api';

// `skiff layers | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
