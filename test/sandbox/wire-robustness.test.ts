// Malformed wire messages close only the connection that sent them; the server and every other
// connection (a driver client here) keep working. Sandbox-only (raw sockets to the sandbox's own
// port): against a real server every test skips itself.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BSON, MongoClient } from 'mongodb';
import type { Document } from 'mongodb';
import { crc32c } from '../../src/sandbox/crc32c.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { openTestServer, uniqueDbName } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { skipUnlessSandbox } from './conformance-helpers.js';

let server: TestServer;
let client: MongoClient;
let host: string;
let port: number;

before(async () => {
  server = await openTestServer();
  if (server.sandbox === undefined) return;
  client = await new MongoClient(server.uri).connect();
  const url = new URL(server.uri);
  host = url.hostname.split(',')[0] ?? '127.0.0.1';
  port = Number(url.port || 27017);
});

after(async () => {
  await client?.close();
  await server?.close();
});

function header(length: number, requestId: number, opCode: number): Buffer {
  const head = Buffer.alloc(16);
  head.writeInt32LE(length, 0);
  head.writeInt32LE(requestId, 4);
  head.writeInt32LE(0, 8);
  head.writeInt32LE(opCode, 12);
  return head;
}

interface MsgOptions {
  readonly flags?: number;
  readonly sequences?: ReadonlyArray<readonly [string, Buffer]>;
  readonly checksum?: 'valid' | 'wrong';
  readonly requestId?: number;
}

/** An OP_MSG with a kind-0 body and optional kind-1 sections (raw bytes, so they can be broken). */
function opMsg(body: Buffer, options: MsgOptions = {}): Buffer {
  let flags = options.flags ?? 0;
  if (options.checksum !== undefined) flags |= 1;
  const sections: Buffer[] = [Buffer.from([0]), body];
  for (const [identifier, payload] of options.sequences ?? []) {
    const name = Buffer.from(`${identifier}\0`);
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + name.length + payload.length, 0);
    sections.push(Buffer.from([1]), size, name, payload);
  }
  const flagBytes = Buffer.alloc(4);
  flagBytes.writeUInt32LE(flags >>> 0, 0);
  const content = Buffer.concat([flagBytes, ...sections]);
  const length = 16 + content.length + (options.checksum !== undefined ? 4 : 0);
  const message = Buffer.concat([header(length, options.requestId ?? 1, 2013), content]);
  if (options.checksum === undefined) return message;
  const sum = Buffer.alloc(4);
  sum.writeUInt32LE(options.checksum === 'valid' ? crc32c(message) : (crc32c(message) ^ 1) >>> 0, 0);
  return Buffer.concat([message, sum]);
}

function bson(document: Document): Buffer {
  return Buffer.from(BSON.serialize(document));
}

async function open(): Promise<Socket> {
  return await new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends bytes and resolves with what came back before the server closed the socket (or timeout). */
async function sendAndWaitForClose(bytes: Buffer, timeoutMs = 2000): Promise<{ closed: boolean; received: Buffer }> {
  const socket = await open();
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  return await new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received: Buffer.concat(chunks) });
    }, timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received: Buffer.concat(chunks) });
    });
    socket.write(bytes);
  });
}

/** Reads OP_MSG replies off a socket. */
function replyReader(socket: Socket): () => Promise<{ flags: number; body: Document; responseTo: number }> {
  let buffered = Buffer.alloc(0);
  const waiting: Array<() => void> = [];
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    waiting.splice(0).forEach((wake) => wake());
  });
  return async () => {
    for (;;) {
      if (buffered.length >= 4) {
        const length = buffered.readInt32LE(0);
        if (buffered.length >= length) {
          const frame = buffered.subarray(0, length);
          buffered = buffered.subarray(length);
          const opCode = frame.readInt32LE(12);
          const responseTo = frame.readInt32LE(8);
          if (opCode === 1) return { flags: 0, body: BSON.deserialize(frame.subarray(36)), responseTo };
          return { flags: frame.readUInt32LE(16), body: BSON.deserialize(frame.subarray(21)), responseTo };
        }
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
}

async function driverStillWorks(): Promise<void> {
  const coll = client.db(uniqueDbName('robust')).collection('c');
  await coll.insertOne({ ok: true });
  assert.equal(await coll.countDocuments({}), 1);
  await coll.drop();
}

const ping = bson({ ping: 1, $db: 'admin' });

describe('wire robustness', () => {
  const malformed: Array<[string, () => Buffer]> = [
    ['a length smaller than the header', () => header(10, 1, 2013)],
    ['a negative length', () => header(-5, 1, 2013)],
    ['an oversize length (> 48,000,000 bytes)', () => header(48_000_001, 1, 2013)],
    ['an unknown opCode', () => Buffer.concat([header(21, 1, 9999), Buffer.alloc(5)])],
    ['OP_COMPRESSED that was never negotiated', () => Buffer.concat([header(25, 1, 2012), Buffer.alloc(9)])],
    [
      'invalid BSON in the body',
      () => {
        const body = Buffer.from([12, 0, 0, 0, 0x99, 0x61, 0, 1, 2, 3, 4, 0]);
        return opMsg(body);
      },
    ],
    [
      'a body whose length runs past the message',
      () => {
        const body = bson({ ping: 1, $db: 'admin' });
        body.writeInt32LE(body.length + 50, 0);
        return opMsg(body);
      },
    ],
    [
      'a truncated document sequence',
      () => {
        const message = opMsg(bson({ insert: 'c', $db: 'test' }), { sequences: [['documents', bson({ _id: 1 })]] });
        // Claim a longer section than the message holds.
        const sizeOffset = message.length - bson({ _id: 1 }).length - 'documents\0'.length - 4;
        message.writeInt32LE(500, sizeOffset);
        return message;
      },
    ],
    [
      'a document sequence with a broken document',
      () => {
        const broken = bson({ _id: 1 });
        broken.writeInt32LE(3, 0);
        return opMsg(bson({ insert: 'c', $db: 'test' }), { sequences: [['documents', broken]] });
      },
    ],
    ['unknown required flag bits', () => opMsg(ping, { flags: 1 << 4 })],
    ['a wrong checksum', () => opMsg(ping, { checksum: 'wrong' })],
    ['an OP_MSG without a body section', () => Buffer.concat([header(20, 1, 2013), Buffer.alloc(4)])],
  ];

  for (const [name, build] of malformed) {
    it(`closes the connection on ${name}, and only that one`, async (t) => {
      if (skipUnlessSandbox(t, server, 'raw wire messages')) return;
      const outcome = await sendAndWaitForClose(build());
      assert.equal(outcome.closed, true, 'the server closed the offending connection');
      await driverStillWorks();
    });
  }

  it('answers a well-formed raw OP_MSG, honours moreToCome and checksums', async (t) => {
    if (skipUnlessSandbox(t, server, 'raw wire messages')) return;
    const socket = await open();
    try {
      const next = replyReader(socket);
      socket.write(opMsg(ping, { requestId: 7 }));
      const first = await next();
      assert.equal(first.body.ok, 1);
      assert.equal(first.responseTo, 7);
      // moreToCome: the client expects no reply; the next reply must answer request 9.
      socket.write(opMsg(ping, { flags: 2, requestId: 8 }));
      socket.write(opMsg(ping, { checksum: 'valid', requestId: 9 }));
      const second = await next();
      assert.equal(second.responseTo, 9);
      assert.equal(second.body.ok, 1);
      const db = uniqueDbName('raw');
      socket.write(opMsg(bson({ insert: 'c', $db: db }), { sequences: [['documents', Buffer.concat([bson({ _id: 1 }), bson({ _id: 2 })])]], requestId: 10 }));
      const inserted = await next();
      assert.equal(inserted.body.n, 2, 'kind-1 documents are merged into the command');
      await client.db(db).dropDatabase();
    } finally {
      socket.destroy();
    }
  });

  it('answers the legacy OP_QUERY handshake with OP_REPLY', async (t) => {
    if (skipUnlessSandbox(t, server, 'raw wire messages')) return;
    const socket = await open();
    try {
      const next = replyReader(socket);
      const query = bson({ isMaster: 1 });
      const fields = Buffer.alloc(8);
      const name = Buffer.from('admin.$cmd\0');
      const flags = Buffer.alloc(4);
      fields.writeInt32LE(0, 0);
      fields.writeInt32LE(-1, 4);
      const length = 16 + 4 + name.length + 8 + query.length;
      socket.write(Buffer.concat([header(length, 3, 2004), flags, name, fields, query]));
      const reply = await next();
      assert.equal(reply.responseTo, 3);
      assert.equal(reply.body.ismaster, true);
    } finally {
      socket.destroy();
    }
  });

  it('logs the reason through the log option', async (t) => {
    if (skipUnlessSandbox(t, server, 'the log option')) return;
    const lines: string[] = [];
    const sandbox: Sandbox = await startSandbox({ log: (line) => lines.push(line) });
    try {
      const url = new URL(sandbox.uri);
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(header(4, 1, 2013));
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      assert.ok(
        lines.some((line) => /malformed message: message length 4/.test(line)),
        lines.join('\n'),
      );
    } finally {
      await sandbox.stop();
    }
  });
});
