// wrangler dev runs no Cron Triggers by itself; with --test-scheduled it exposes the scheduled
// handler on GET /__scheduled. The local stack calls it every minute, as the Cron Trigger
// ("* * * * *" in wrangler.toml) does once deployed, so alert rules fire and resolve locally too.

export const SCHEDULED_PATH = '/__scheduled?cron=*+*+*+*+*';

export interface Ticker {
  stop(): void;
}

export function startScheduledTicker(
  apiUrl: string,
  onProblem: (message: string) => void,
  everyMs = 60_000,
): Ticker {
  let running = false;
  const tick = async () => {
    // A slow run (a receiver timing out) must not overlap the next: skip a tick instead.
    if (running) return;
    running = true;
    try {
      const res = await fetch(`${apiUrl}${SCHEDULED_PATH}`, { signal: AbortSignal.timeout(55_000) });
      await res.arrayBuffer();
      if (!res.ok) onProblem(`the scheduled handler answered ${res.status}`);
    } catch (error) {
      onProblem(`could not run the scheduled handler: ${(error as Error).message}`);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
