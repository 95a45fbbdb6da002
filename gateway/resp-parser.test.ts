import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BigIntegerReply,
  RedisErrorReply,
  type Reply,
  type ReplyBudget,
  RespParser,
  type StringEncoding,
} from './resp-parser.ts';

// The parser on its own: RESP2 text in, replies out, however TCP happens to cut the stream.

/** A reply model that serializes to RESP2 and back; errors only at the top level or inside arrays. */
type Model = { string: string } | { integer: number } | { nil: true } | { error: string } | Model[];

function toResp(model: Model): Buffer {
  if (Array.isArray(model)) {
    return Buffer.concat([Buffer.from(`*${model.length}\r\n`), ...model.map(toResp)]);
  }
  if ('string' in model) {
    const bytes = Buffer.from(model.string);
    return Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n')]);
  }
  if ('integer' in model) return Buffer.from(`:${model.integer}\r\n`);
  if ('nil' in model) return Buffer.from('$-1\r\n');
  return Buffer.from(`-${model.error}\r\n`);
}

function expected(model: Model, encoding: StringEncoding): unknown {
  if (Array.isArray(model)) return model.map((m) => expected(m, encoding));
  if ('string' in model) return Buffer.from(model.string).toString(encoding);
  if ('integer' in model) return model.integer;
  if ('nil' in model) return null;
  return new RedisErrorReply(model.error, Buffer.from(model.error).toString(encoding));
}

const { model } = fc.letrec<{ model: Model }>((tie) => ({
  model: fc.oneof(
    { depthSize: 'small' },
    fc.record({ string: fc.string({ unit: 'binary', maxLength: 40 }) }),
    fc.record({ integer: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }) }),
    fc.constant({ nil: true as const }),
    fc.record({ error: fc.stringMatching(/^[A-Z]+ [a-z ]{0,20}$/) }),
    fc.array(tie('model'), { maxLength: 5 }),
  ),
}));

function parseAll(chunks: Buffer[], encoding: StringEncoding = 'utf8'): Reply[] {
  const replies: Reply[] = [];
  const parser = new RespParser(
    (reply) => replies.push(reply),
    () => encoding,
  );
  for (const chunk of chunks) parser.feed(chunk);
  return replies;
}

/** Cuts `bytes` at the given offsets (taken modulo its length), keeping every byte exactly once. */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks.filter((c) => c.length > 0);
}

describe('RespParser', () => {
  it('parses any sequence of replies however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(model, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom<StringEncoding>('utf8', 'base64'),
        (models, offsets, encoding) => {
          const bytes = Buffer.concat(models.map(toResp));
          const replies = parseAll(cut(bytes, offsets), encoding);
          expect(replies).toEqual(models.map((m) => expected(m, encoding)));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('parses byte by byte', () => {
    const bytes = Buffer.from(
      '*3\r\n$3\r\nfoo\r\n*2\r\n:-12\r\n$-1\r\n*-1\r\n+OK\r\n-ERR bad thing\r\n*0\r\n',
    );
    const replies = parseAll([...bytes].map((b) => Buffer.from([b])));
    expect(replies).toEqual([
      ['foo', [-12, null], null],
      'OK',
      new RedisErrorReply('ERR bad thing', 'ERR bad thing'),
      [],
    ]);
  });

  it('keeps binary bulk strings intact in base64, CRLF inside included', () => {
    const data = Buffer.from([0, 13, 10, 255, 254, 13]);
    const bytes = Buffer.concat([Buffer.from(`$${data.length}\r\n`), data, Buffer.from('\r\n')]);
    expect(parseAll([bytes.subarray(0, 5), bytes.subarray(5)], 'base64')).toEqual([data.toString('base64')]);
  });

  it('waits for a large bulk string to arrive in full', () => {
    const value = 'v'.repeat(300_000);
    const bytes = Buffer.from(`$${value.length}\r\n${value}\r\n:1\r\n`);
    const chunks = cut(
      bytes,
      Array.from({ length: 40 }, (_, i) => i * 8_000 + 3),
    );
    expect(parseAll(chunks)).toEqual([value, 1]);
  });

  it('asks for the encoding at the start of each top-level reply', () => {
    const encodings: StringEncoding[] = ['base64', 'utf8', 'base64'];
    const replies: Reply[] = [];
    const parser = new RespParser(
      (reply) => replies.push(reply),
      () => encodings[replies.length]!,
    );
    parser.feed(Buffer.from('+OK\r\n*1\r\n$2\r\nhi\r\n-ERR x\r\n'));
    expect(replies).toEqual(['T0s=', ['hi'], new RedisErrorReply('ERR x', 'RVJSIHg=')]);
  });

  it('keeps the digits of integers beyond 2^53', () => {
    const replies = parseAll([
      Buffer.from(':9223372036854775807\r\n:-9007199254740993\r\n:9007199254740991\r\n'),
    ]);
    expect(replies).toEqual([
      new BigIntegerReply('9223372036854775807'),
      new BigIntegerReply('-9007199254740993'),
      9007199254740991,
    ]);
  });

  it('stops parsing the current chunk when reset from inside onReply', () => {
    const replies: Reply[] = [];
    const parser = new RespParser(
      (reply) => {
        replies.push(reply);
        parser.reset();
      },
      () => 'utf8',
    );
    parser.feed(Buffer.from('+first\r\n+second\r\n'));
    expect(replies).toEqual(['first']);
    parser.feed(Buffer.from('+third\r\n'));
    expect(replies).toEqual(['first', 'third']);
  });

  it('rejects bytes that are not RESP', () => {
    expect(() => parseAll([Buffer.from('?what\r\n')])).toThrow(/not a RESP2 reply/);
    expect(() => parseAll([Buffer.from(':12a\r\n')])).toThrow(/bad number/);
  });
});

describe('a budget for the replies of one request', () => {
  /** Feeds `stream` cut every `cut` bytes; replies 1..n share `budget`, later ones are free. */
  function parse(stream: Buffer, cut: number, budget: ReplyBudget, bounded: number): Reply[] {
    const replies: Reply[] = [];
    const parser = new RespParser(
      (reply) => replies.push(reply),
      () => 'utf8',
      () => (replies.length < bounded ? budget : null),
    );
    for (let at = 0; at < stream.length; at += cut) parser.feed(stream.subarray(at, at + cut));
    return replies;
  }

  it('skips what goes past it, large strings and long arrays, and the replies after it still parse', () => {
    const big = `$${100_000}\r\n${'x'.repeat(100_000)}\r\n`;
    const many = `*3000\r\n${'$2\r\nab\r\n'.repeat(3000)}`;
    const stream = Buffer.from(`$2\r\nok\r\n${big}${many}${big}:7\r\n$4\r\nnext\r\n`);
    for (const cut of [1, 7, 4096, stream.length]) {
      const budget = { left: 1_000, exceeded: false };
      const replies = parse(stream, cut, budget, 4);
      expect(budget.exceeded, `cut ${cut}`).toBe(true);
      // The first fits; the three past the budget stand as nulls; the rest are another request's.
      expect(replies, `cut ${cut}`).toEqual(['ok', null, null, null, 7, 'next']);
    }
  });

  it('leaves replies within it alone', () => {
    const stream = Buffer.from('*2\r\n$1\r\na\r\n:1\r\n$3\r\nabc\r\n');
    const budget = { left: 1_000, exceeded: false };
    expect(parse(stream, 3, budget, 2)).toEqual([['a', 1], 'abc']);
    expect(budget).toEqual({ left: 1_000 - stream.length, exceeded: false });
  });
});
