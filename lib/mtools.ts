// mtools otherwise reads the user's ~/.mtoolsrc and rejects partitions whose size is not a whole
// number of "tracks": every caller (card writing, the harness reading a Pi card, tests) runs it so.
export const mtoolsEnv = (env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv => ({ ...env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' });
