import type { Argument } from './resp-encoder.ts';

// Which commands a request may run, all the lists in one place (gateway/README.md repeats them).
// The gateway multiplexes many HTTP requests over a few shared Redis connections, so a command
// that blocks a connection, changes its state or turns it into a subscriber would break everyone
// else's requests: those are refused for every token, always. Commands that no client of this
// project needs and that could stall, empty or reconfigure Redis, or send data elsewhere, are
// refused too, scripts among them: a script can call any command, and no text check of its source
// could tell which, so scripts are refused whole rather than inspected. An operator may allow
// those by name for the read-write token. The read-only token never runs a script and otherwise
// runs only commands Redis itself flags `readonly` (taken from COMMAND INFO of Redis 7), plus a
// few that read nothing but are harmless; anything unknown counts as a write.

/**
 * An argument as the rules read it: a JSON one, or the path form's bytes, read as UTF-8 (by
 * String) only where a rule looks at it.
 */
export type CommandWord = Argument | Buffer;

export interface Refusal {
  status: 400 | 403;
  message: string;
}

const READ_COMMANDS = new Set(
  (
    'bitcount bitfield_ro bitpos dbsize dump exists expiretime geodist geohash ' +
    'geopos georadius_ro georadiusbymember_ro geosearch get getbit getrange hexists hget hgetall hkeys hlen ' +
    'hmget hrandfield hscan hstrlen hvals keys lcs lindex llen lolwut lpos lrange mget pexpiretime pfcount ' +
    'pttl randomkey scan scard sdiff sinter sintercard sismember smembers smismember sort_ro srandmember ' +
    'sscan strlen substr sunion touch ttl type xlen xpending xrange xread xrevrange zcard zcount zdiff ' +
    'zinter zintercard zlexcount zmscore zrandmember zrange zrangebylex zrangebyscore zrank zrevrange ' +
    'zrevrangebylex zrevrangebyscore zrevrank zscan zscore zunion ' +
    // Redis 7.4's hash-field expiry reads.
    'httl hpttl hexpiretime hpexpiretime ' +
    // Not flagged readonly by Redis because they touch no keys, but they change nothing either.
    'ping echo time'
  ).split(' '),
);

/** Commands whose first argument decides: only these subcommands only read. */
const READ_SUBCOMMANDS: Record<string, Set<string>> = {
  object: new Set(['encoding', 'freq', 'idletime', 'refcount', 'help']),
  memory: new Set(['usage', 'stats', 'help']),
  xinfo: new Set(['consumers', 'groups', 'stream', 'help']),
  script: new Set(['exists', 'help']),
  pubsub: new Set(['channels', 'numsub', 'numpat', 'shardchannels', 'shardnumsub', 'help']),
};

const BLOCKING = 'blocks its connection until data arrives; poll with the non-blocking form instead';
const SUBSCRIBING =
  "turns the connection into a subscriber; subscribe through the Server-Sent-Event endpoint /subscribe/<channel> (the client's subscribe()) instead";
const TRANSACTION =
  "keeps state across requests; send the whole transaction to POST /multi-exec (the client's multi())";
const CONNECTION_STATE = 'changes the state of a connection that the gateway shares between requests';
const SERVER_ADMIN = 'administers the Redis server itself, which the gateway does not expose';
const WHOLE_DATA = 'empties or swaps whole databases, which no client of this project needs';
const ELSEWHERE =
  'moves data out of this database or to another server, which no client of this project needs';
const RESTORE = 'writes a serialized value that Redis trusts as is; no client of this project makes one';
const SCRIPTS =
  'runs a script, which may call any command (the refused ones included) and can stall Redis for everyone; no client of this project uses scripts';
const ADMIN_TOKEN =
  'manages Redis users and permissions, which only the read-write (admin) token may do, one command per POST / (gateway/acl-commands.ts)';

/** Refused for every token, always: they would break the connections the gateway shares. */
const NEVER: [reason: string, names: string][] = [
  [BLOCKING, 'blpop brpop brpoplpush blmove blmpop bzpopmin bzpopmax bzmpop wait waitaof'],
  [SUBSCRIBING, 'subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe monitor'],
  [TRANSACTION, 'multi exec discard watch unwatch'],
  [CONNECTION_STATE, 'select auth hello quit reset client readonly readwrite asking'],
];

/** The commands that run or manage scripts; of these the read-only token may run only SCRIPT's reads. */
const SCRIPT_NAMES = 'eval evalsha eval_ro evalsha_ro fcall fcall_ro function script';

/**
 * Refused unless the operator allows them by name (`allowCommands`, `--allow-commands`), and then
 * for the read-write token only. `script flush` is a name of its own, so allowing `script` (for
 * SCRIPT LOAD and KILL) does not allow it.
 */
const UNLESS_ALLOWED: [reason: string, names: string][] = [
  [
    SERVER_ADMIN,
    'shutdown debug module config replicaof slaveof failover sync psync replconf cluster save bgsave bgrewriteaof slowlog latency pfdebug pfselftest',
  ],
  [WHOLE_DATA, 'flushall flushdb swapdb'],
  [ELSEWHERE, 'migrate move copy-db'],
  [RESTORE, 'restore restore-asking'],
  [SCRIPTS, `${SCRIPT_NAMES} script-flush`],
];

/** Answered by acl-commands.ts for the read-write token's single commands; refused everywhere else. */
export const ADMIN_ONLY: readonly string[] = ['acl'];

const SCRIPT_COMMANDS = new Set(SCRIPT_NAMES.split(' '));

const NEVER_ALLOWED = new Map<string, string>();
for (const [reason, names] of NEVER) for (const name of names.split(' ')) NEVER_ALLOWED.set(name, reason);
for (const name of ADMIN_ONLY) NEVER_ALLOWED.set(name, ADMIN_TOKEN);
const ALLOWABLE = new Map<string, string>();
for (const [reason, names] of UNLESS_ALLOWED)
  for (const name of names.split(' ')) ALLOWABLE.set(name, reason);

/**
 * Checks an operator's list of commands to allow (case-insensitive rule names such as `flushdb`,
 * `eval`, `script-flush`) and returns it as a set; throws naming the first one that cannot be.
 */
export function allowedCommands(names: readonly string[]): ReadonlySet<string> {
  const allowed = new Set<string>();
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    if (NEVER_ALLOWED.has(name)) {
      throw new Error(`'${name}' cannot be allowed: it ${NEVER_ALLOWED.get(name)}`);
    }
    if (!ALLOWABLE.has(name)) {
      throw new Error(
        `'${name}' is not a command the gateway refuses; the ones that can be allowed are: ${[...ALLOWABLE.keys()].join(', ')}`,
      );
    }
    allowed.add(name);
  }
  return allowed;
}

const NOTHING: ReadonlySet<string> = new Set();

/**
 * Why `command` may not run, or null when it may. `readOnly` is true for the read-only token;
 * `allowed` holds the rule names the operator allowed (see allowedCommands).
 */
export function refusalFor(
  command: readonly CommandWord[],
  readOnly: boolean,
  allowed: ReadonlySet<string> = NOTHING,
): Refusal | null {
  const name = String(command[0]).toLowerCase();
  const never = NEVER_ALLOWED.get(name);
  if (never !== undefined) return refuse(name, never);
  if ((name === 'xread' || name === 'xreadgroup') && hasBlockOption(command)) {
    return refuse(`${name} ... block`, BLOCKING);
  }
  if (readOnly && SCRIPT_COMMANDS.has(name) && name !== 'script') {
    return {
      status: 403,
      message:
        'NOPERM the read-only token may not run scripts: one that never ends would stall Redis for every client',
    };
  }
  const rule = ruleName(name, command);
  const reason = ALLOWABLE.get(rule);
  if (reason !== undefined && !allowed.has(rule)) return refuse(rule, reason);
  if (readOnly && !isRead(name, command)) {
    return {
      status: 403,
      message: `NOPERM this token is read-only and '${name}' is not a read command; use the read-write token for writes`,
    };
  }
  return null;
}

/** The name a command is allowed or refused under: some forms of a command have one of their own. */
function ruleName(name: string, command: readonly CommandWord[]): string {
  if (name === 'script' && command.length > 1 && String(command[1]).toLowerCase() === 'flush') {
    return 'script-flush';
  }
  if (name === 'copy' && hasWord(command, 3, 'db')) return 'copy-db';
  return name;
}

function hasWord(command: readonly CommandWord[], from: number, word: string): boolean {
  for (let i = from; i < command.length; i++) if (String(command[i]).toLowerCase() === word) return true;
  return false;
}

function isRead(name: string, command: readonly CommandWord[]): boolean {
  if (READ_COMMANDS.has(name)) return true;
  const subcommands = READ_SUBCOMMANDS[name];
  return subcommands !== undefined && command.length > 1 && subcommands.has(String(command[1]).toLowerCase());
}

/** XREAD's BLOCK option comes before STREAMS; after STREAMS every word is a key or an id. */
function hasBlockOption(command: readonly CommandWord[]): boolean {
  for (let i = 1; i < command.length; i++) {
    const word = String(command[i]).toLowerCase();
    if (word === 'streams') return false;
    if (word === 'block') return true;
  }
  return false;
}

function refuse(name: string, reason: string): Refusal {
  return { status: 400, message: `ERR '${name}' is not supported over the REST gateway: it ${reason}` };
}
