import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { securePage } from '../secure-page.ts';
import { dashboardPage } from './dashboard-page.ts';

// The page itself needs no token: it holds no data, and asks the API with the token the user gives.
export const dashboard = new Hono<AppEnv>();

dashboard.get('/', (c) => securePage(c, dashboardPage()));
