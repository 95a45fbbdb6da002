#!/usr/bin/env node
// Runs one TypeScript file of the project (benchmarks, lab helpers) with tsx, keeping argv.
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bin/run-ts.js FILE.ts [args...]\n');
  process.exit(2);
}
register();
process.argv = [process.argv[0], file, ...rest];
await import(pathToFileURL(file).href);
