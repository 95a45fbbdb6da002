import { EXIT } from './usage-error.ts';

// `ping-agent run`: the daemon. Everything it needs comes from the environment (see
// the README), so the same command line works under systemd, in a container and by hand.

const HELP = `usage: ping-agent run

Runs the agent: registers in Redis, runs the jobs stored for it on their cron schedules, pings
their groups' IPs and writes the results. Configured by the environment:

  UPSTASH_REDIS_REST_URL      the Upstash REST endpoint or ping-agent gateway (required)
  UPSTASH_REDIS_REST_TOKEN    its token (required)
  PING_AGENT_NAME             this agent's name (default: the hostname)
  PING_AGENT_HEARTBEAT_TTL_S  heartbeat expiry, s (default 60; refreshed every half of it)
  PING_AGENT_ERR_SPEC         the err-list job's cron (default "*/5 * * * * *")
  PING_AGENT_CLEAN_WINDOW_S   loss-free time before an IP leaves the err list (default 60)
  PING_AGENT_RATE_PPS         global probe budget, packets/s (default 2000)
  PING_AGENT_SPOOL_DIR        where results wait while Redis is away
  PING_AGENT_SPOOL_MAX_MB     spool size bound (default 64)
  PING_AGENT_METRICS_ADDR     host:port for Prometheus /metrics (default off)
  PING_AGENT_LOG_LEVEL        fatal|error|warn|info|debug|trace|silent (default info)
  PING_AGENT_KEY_PREFIX       namespace prefix of every key (default none)
`;

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (argv.length > 0) {
    process.stderr.write(
      `ping-agent run: takes no arguments (got "${argv[0]}"); it reads its settings from the environment, see 'ping-agent run --help'\n`,
    );
    return EXIT.usage;
  }
  // Loaded here so `--help` and bad arguments never load the daemon or the raw-socket addon.
  const { loadConfig } = await import('../daemon/config.ts');
  const config = loadConfig();
  const { createLogger } = await import('../daemon/logger.ts');
  const { runDaemon } = await import('../daemon/daemon.ts');
  const log = createLogger(config.name, config.logLevel);
  const stop = new AbortController();
  const onSignal = (name: string) => {
    if (stop.signal.aborted) {
      // Asked twice: the operator does not want to wait for the stop, whatever is still unsaved.
      log.error({ signal: name }, 'stopping now, without waiting: results not yet saved are lost');
      process.exit(EXIT.failed);
    }
    log.info({ signal: name }, 'stopping');
    stop.abort();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  try {
    await runDaemon({ config, log, signal: stop.signal });
    return EXIT.ok;
  } finally {
    // The daemon has stopped, cleanly or not: nothing it may have left open (a socket, a request
    // in flight) may keep the process running. Unref'd, so a clean stop exits at once without it.
    setTimeout(() => process.exit(), 3_000).unref();
  }
}
