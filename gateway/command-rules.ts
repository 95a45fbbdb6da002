import type { Argument } from './resp-encoder.ts';

// Which commands a request may run. The gateway multiplexes many HTTP requests over a few shared
// Redis connections, so a command that blocks a connection, changes its state or turns it into a
// subscriber would break everyone else's requests: those are refused for every token. The
// read-only token may run only commands Redis itself flags `readonly` (taken from COMMAND INFO of
// Redis 7), plus a few that read nothing but are harmless; anything unknown counts as a write.

export interface Refusal {
  status: 400 | 403;
  message: string;
}

const READ_COMMANDS = new Set(
  (
    'bitcount bitfield_ro bitpos dbsize dump eval_ro evalsha_ro exists expiretime fcall_ro geodist geohash ' +
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

const REFUSED: Record<string, string> = {};
for (const [reason, names] of [
  [BLOCKING, 'blpop brpop brpoplpush blmove blmpop bzpopmin bzpopmax bzmpop wait waitaof'],
  [SUBSCRIBING, 'subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe monitor'],
  [TRANSACTION, 'multi exec discard watch unwatch'],
  [CONNECTION_STATE, 'select auth hello quit reset client readonly readwrite asking'],
  [
    SERVER_ADMIN,
    'shutdown debug module config acl replicaof slaveof failover sync psync replconf cluster save bgsave bgrewriteaof',
  ],
] as const) {
  for (const name of names.split(' ')) REFUSED[name] = reason;
}

/** Why `command` may not run, or null when it may. `readOnly` is true for the read-only token. */
export function refusalFor(command: readonly Argument[], readOnly: boolean): Refusal | null {
  const name = String(command[0]).toLowerCase();
  const reason = REFUSED[name];
  if (reason !== undefined) return refuse(name, reason);
  if ((name === 'xread' || name === 'xreadgroup') && hasBlockOption(command)) {
    return refuse(`${name} ... block`, BLOCKING);
  }
  if (readOnly && !isRead(name, command)) {
    return {
      status: 403,
      message: `NOPERM this token is read-only and '${name}' is not a read command; use the read-write token for writes`,
    };
  }
  return null;
}

function isRead(name: string, command: readonly Argument[]): boolean {
  if (READ_COMMANDS.has(name)) return true;
  const subcommands = READ_SUBCOMMANDS[name];
  return subcommands !== undefined && command.length > 1 && subcommands.has(String(command[1]).toLowerCase());
}

/** XREAD's BLOCK option comes before STREAMS; after STREAMS every word is a key or an id. */
function hasBlockOption(command: readonly Argument[]): boolean {
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
