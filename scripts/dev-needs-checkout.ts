import type { Plugin } from 'esbuild';

/**
 * `ping-agent dev` runs the whole stack from a checkout (wrangler, the sources, redis-server, all
 * development dependencies); in the built command and the binary it says so, instead of starting
 * redis-server and then failing on a bin/ or wrangler that an installed package does not have.
 * From a checkout, `npm start` runs it from the sources.
 */
export const devNeedsCheckout: Plugin = {
  name: 'dev-needs-a-checkout',
  setup(b) {
    b.onLoad({ filter: /agent[\\/]cli[\\/]dev-command\.ts$/ }, () => ({
      contents: `export async function run() {
        process.stderr.write('ping-agent dev: runs the whole stack from a checkout of the repository (npm ci && npm start); the installed command and the single executable have the other commands\\n');
        return 2;
      }`,
      loader: 'ts',
    }));
  },
};
