import { isValidName, nameRule } from '../../shared/names.ts';
import { apiTarget, apiUrl } from './api-target.ts';
import { intOption, parseCommandArgs } from './args.ts';
import { EXIT, UsageError } from './usage-error.ts';

// `ping-agent credentials`: an operator's wrapper of /v1/agents/{agent}/credentials, so a field
// agent gets a Redis token of its own (its keys only) instead of the deployment's.

const HELP = `usage: ping-agent credentials create|rotate|revoke|show --agent AGENT --url URL --token TOKEN

Manages a field agent's own Redis credential through the API.

  create   make the agent's credential; refused when it already has one (use rotate)
  rotate   make a new token; the old one stops working at once
  revoke   delete the credential; the agent's next write is refused
  show     whether the agent has one and when it was made (never the token)

create and rotate print the token once, as the line to put in the agent's environment file:
  UPSTASH_REDIS_REST_TOKEN=...

options:
      --agent AGENT     the agent's name
      --url URL         API base URL (or PING_AGENT_API_URL)
      --token TOKEN     the API's write token, API_TOKEN (or PING_AGENT_API_TOKEN; prefer the environment)
      --timeout-ms N    how long to wait for the API (default 10000)
      --json            print the API's JSON answer
  -h, --help            show this help

exit status: 0 done, 1 the API refused (no such credential, already one), 2 bad usage or no answer
`;

const ACTIONS = ['create', 'rotate', 'revoke', 'show'] as const;
type Action = (typeof ACTIONS)[number];

const options = {
  agent: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  'timeout-ms': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface CredentialsConfig {
  action: Action;
  agent: string;
  /** the credential's API URL */
  url: URL;
  token: string;
  timeoutMs: number;
  json: boolean;
}

export function credentialsConfig(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): CredentialsConfig | 'help' {
  const { values, positionals } = parseCommandArgs('credentials', argv, options);
  if (values.help) return 'help';
  const [action, extra] = positionals;
  if (!action || !(ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(
      `ping-agent credentials: ${action ? `unknown action "${action}"` : 'no action'}; give one of ${ACTIONS.join(', ')}`,
    );
  }
  if (extra !== undefined) {
    throw new UsageError(`ping-agent credentials: unexpected argument "${extra}"; the agent goes in --agent`);
  }
  const agent = values.agent;
  if (!agent) throw new UsageError('ping-agent credentials: --agent is required (the agent to manage)');
  if (!isValidName('agent', agent)) {
    throw new UsageError(
      `ping-agent credentials: --agent "${agent}" is not an agent name: ${nameRule('agent')}`,
    );
  }
  const { base, token } = apiTarget('credentials', values, env);
  const url = apiUrl(base, `/v1/agents/${agent}/credentials`);
  const timeoutMs = intOption('credentials', '--timeout-ms', values['timeout-ms'], 10_000, 100, 300_000);
  return { action: action as Action, agent, url, token, timeoutMs, json: values.json ?? false };
}

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { message?: string } };
}

export async function run(argv: string[]): Promise<number> {
  const config = credentialsConfig(argv);
  if (config === 'help') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const call = async (method: string): Promise<Answer | null> => {
    let res: Response;
    try {
      res = await fetch(config.url, {
        method,
        headers: { authorization: `Bearer ${config.token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(config.timeoutMs),
      });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      process.stderr.write(
        `ping-agent credentials: cannot reach the API at ${config.url.origin}: ${cause}\n`,
      );
      return null;
    }
    const text = await res.text().catch(() => '');
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      process.stderr.write(
        `ping-agent credentials: the API at ${config.url.origin} answered ${res.status} without JSON; is --url the ping-agent API?\n`,
      );
      return null;
    }
  };
  const refused = (answer: Answer) => {
    process.stderr.write(
      `ping-agent credentials: the API answered ${answer.status}: ${answer.body.error?.message ?? 'no message'}\n`,
    );
    return answer.status === 401 || answer.status === 403 || answer.status >= 500 ? EXIT.usage : EXIT.failed;
  };

  if (config.action === 'create') {
    const existing = await call('GET');
    if (!existing) return EXIT.usage;
    if (existing.status !== 200) return refused(existing);
    if (existing.body.exists === true) {
      process.stderr.write(
        `ping-agent credentials: agent ${config.agent} already has a credential; "rotate" replaces it (its token stops working at once)\n`,
      );
      return EXIT.failed;
    }
  }
  const method = config.action === 'show' ? 'GET' : config.action === 'revoke' ? 'DELETE' : 'POST';
  const answer = await call(method);
  if (!answer) return EXIT.usage;
  if (answer.status !== 200) return refused(answer);
  if (config.json) {
    process.stdout.write(`${JSON.stringify(answer.body, null, 2)}\n`);
    return EXIT.ok;
  }
  const body = answer.body;
  if (config.action === 'show') {
    const credential = body.credential as { user: string; created_at: string; acl: string } | null;
    process.stdout.write(
      credential
        ? `agent ${config.agent}: Redis user ${credential.user}, made ${credential.created_at}, rules ${credential.acl}\n`
        : `agent ${config.agent}: no credential\n`,
    );
  } else if (config.action === 'revoke') {
    process.stdout.write(`agent ${config.agent}: credential revoked; its token no longer works\n`);
  } else {
    process.stderr.write(
      `agent ${config.agent}: ${body.rotated ? 'new token; the old one no longer works' : 'credential made'} (Redis user ${String(body.user)}, rules ${String(body.acl)}). The token is shown only now:\n`,
    );
    process.stdout.write(`UPSTASH_REDIS_REST_TOKEN=${String(body.token)}\n`);
  }
  return EXIT.ok;
}
