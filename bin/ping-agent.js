#!/usr/bin/env node
// The `ping-agent` command. The sources are TypeScript; tsx compiles them on load (with a cache),
// so the package runs from a checkout or an install without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../agent/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
