import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { app } from '../app.ts';

// A client generated from /openapi.json (openapi-typescript types, openapi-fetch calls) accepts
// the calls the API accepts and refuses, at compile time, those the API refuses for their types.
// client-calls.fixture.txt holds the calls; it is compiled here, beside the generated types, so
// every `@ts-expect-error` in it must meet an error and no other line may have one.

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

describe('a client generated from /openapi.json', () => {
  it('type-checks the calls the API accepts and refuses the ones it refuses', async () => {
    const spec = await (await app.request('/openapi.json')).json();
    const types = astToString(await openapiTS(spec as Parameters<typeof openapiTS>[0]));
    // Under node_modules so the compiled files resolve openapi-fetch as any module of the project.
    const dir = path.join(root, 'node_modules', '.cache', `openapi-client-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(path.join(dir, 'api.ts'), types);
      const calls = path.join(dir, 'calls.ts');
      writeFileSync(calls, readFileSync(path.join(here, 'client-calls.fixture.txt')));
      const program = ts.createProgram([calls], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
        skipLibCheck: true,
        types: [],
      });
      const problems = ts.getPreEmitDiagnostics(program).map((d) => {
        const where = d.file
          ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
          : '';
        return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
      expect(problems).toEqual([]);
      // The fixture really has refused calls in it, each checked above.
      expect(readFileSync(calls, 'utf8').match(/@ts-expect-error/g)?.length).toBeGreaterThanOrEqual(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
