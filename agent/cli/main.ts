import { EXIT, UsageError } from './usage-error.ts';

// `ping-agent <command>`: each subcommand lives in its own module, loaded only when called, so
// `ping-agent check` on a CI runner never loads the raw-socket addon.

interface Command {
  summary: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

const commands: Record<string, Command> = {
  probe: {
    summary: 'ping targets once, like fping, and print what came back',
    load: () => import('./probe-command.ts'),
  },
  run: {
    summary: 'run the agent daemon: jobs from Redis, results to Redis',
    load: () => import('./run-command.ts'),
  },
  check: {
    summary: "ask the API whether a group's paths are healthy (for CI)",
    load: () => import('./check-command.ts'),
  },
  measure: {
    summary: 'ask agents to ping targets now, through the API (for CI)',
    load: () => import('./measure-command.ts'),
  },
  gateway: {
    summary: 'serve the Upstash REST protocol in front of a redis-server',
    load: () => import('./gateway-command.ts'),
  },
  credentials: {
    summary: "make, rotate, revoke or show a field agent's own Redis token (through the API)",
    load: () => import('./credentials-command.ts'),
  },
  dev: {
    summary: 'run the whole stack locally: redis, gateway, API, agent',
    load: () => import('./dev-command.ts'),
  },
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: ping-agent <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    "'ping-agent <command> --help' for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    const { VERSION } = await import('../version.ts');
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(
      `ping-agent: unknown command "${name}"; the commands are ${Object.keys(commands).join(', ')}\n`,
    );
    return EXIT.usage;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`ping-agent ${name}: ${(error as Error).message}\n`);
    return EXIT.failed;
  }
}
