#!/usr/bin/env node
// `ping-agent` from the TypeScript sources, compiled by tsx on load: for development and tests in
// a checkout (`npm start`, the daemon's end-to-end tests). The installed command is the built
// dist/ping-agent.js (`npm run build`), which needs no compiler.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../agent/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
