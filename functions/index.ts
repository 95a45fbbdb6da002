// The Worker entry: wrangler.toml's `main`.
import { app } from './app.ts';

export default app;
