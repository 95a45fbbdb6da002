import type * as zod from 'zod';
import {
  array,
  boolean,
  discriminatedUnion,
  enum as enumOf,
  literal,
  looseObject,
  NEVER,
  number,
  object,
  string,
} from 'zod';

// The parts of zod this project's own schemas use, imported by name. `import { z } from 'zod'`
// hands the bundler a namespace object that could reach every part of zod, so the agent's bundle
// kept all of it (some 800 KB of code, about 3 MB of memory at run time); named imports let it
// keep only these. Same schemas, same classes: the API mixes them with @hono/zod-openapi's own.
// Add a part here when a schema needs one.

export const z = {
  array,
  boolean,
  discriminatedUnion,
  enum: enumOf,
  literal,
  looseObject,
  NEVER,
  number,
  object,
  string,
};

// The types the schemas name as `z.infer<...>` and so on, under the same `z`.
export declare namespace z {
  type infer<T> = zod.infer<T>;
  type ZodType<Output = unknown> = zod.ZodType<Output>;
  type RefinementCtx = zod.RefinementCtx;
}
