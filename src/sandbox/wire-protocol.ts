// MongoDB wire protocol framing: split a byte stream into messages, decode OP_MSG and the legacy
// OP_QUERY handshake, encode OP_MSG and OP_REPLY answers.
// Reference: https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/
import { BSON } from 'bson';
import type { Document } from 'bson';
import { normalizeNumbers } from './bson-values.js';
import { crc32c } from './crc32c.js';

export const OP_CODES = {
  reply: 1,
  query: 2004,
  compressed: 2012,
  msg: 2013,
} as const;

export const OP_MSG_FLAGS = {
  checksumPresent: 1 << 0,
  moreToCome: 1 << 1,
  exhaustAllowed: 1 << 16,
} as const;

const HEADER_SIZE = 16;
/** mongod's maxMessageSizeBytes; a frame announcing more is refused before it is buffered. */
export const MAX_MESSAGE_SIZE = 48_000_000;
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
// Bits 0-15 of OP_MSG flags are "required": a receiver must reject bits it does not know.
const KNOWN_REQUIRED_FLAGS = OP_MSG_FLAGS.checksumPresent | OP_MSG_FLAGS.moreToCome;

/**
 * Options that keep the values the sandbox stores faithful to what the client sent: numbers stay
 * bson wrappers here and normalizeNumbers() then keeps exactly those whose type a JS number
 * would lose (int64, integral doubles).
 */
export const DESERIALIZE_OPTIONS = {
  promoteValues: false,
  promoteBuffers: false,
  bsonRegExp: false,
  validation: { utf8: true },
} as const;

/** Deserializes one BSON document with the sandbox's type-faithful rules. */
export function deserializeDocument(bytes: Uint8Array): Document {
  return normalizeNumbers(BSON.deserialize(bytes, DESERIALIZE_OPTIONS)) as Document;
}

// Projections can leave `undefined` behind; mongod never sends the deprecated undefined type.
const SERIALIZE_OPTIONS = { ignoreUndefined: true } as const;

/** A malformed frame: the connection that sent it is closed, nothing else is affected. */
export class WireProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireProtocolError';
  }
}

export interface MessageHeader {
  readonly messageLength: number;
  readonly requestId: number;
  readonly responseTo: number;
  readonly opCode: number;
}

export interface OpMsgRequest {
  readonly kind: 'msg';
  readonly header: MessageHeader;
  readonly flags: number;
  /** The kind-0 body with every kind-1 document sequence merged in as an array field. */
  readonly command: Document;
}

export interface OpQueryRequest {
  readonly kind: 'query';
  readonly header: MessageHeader;
  readonly flags: number;
  readonly fullCollectionName: string;
  readonly numberToSkip: number;
  readonly numberToReturn: number;
  readonly query: Document;
}

export type WireRequest = OpMsgRequest | OpQueryRequest;

/** Accumulates socket chunks and yields complete frames; rejects impossible lengths early. */
export class MessageFramer {
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** Adds a chunk and returns every complete message now available. */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.#buffered >= 4) {
      const head = this.#peek(4);
      const length = head.readInt32LE(0);
      if (length < HEADER_SIZE) throw new WireProtocolError(`message length ${length} is smaller than the 16-byte header`);
      if (length > MAX_MESSAGE_SIZE) {
        throw new WireProtocolError(`message length ${length} exceeds maxMessageSizeBytes ${MAX_MESSAGE_SIZE}`);
      }
      if (this.#buffered < length) break;
      frames.push(this.#take(length));
    }
    return frames;
  }

  #peek(size: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= size) return first;
    this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] as Buffer;
  }

  #take(size: number): Buffer {
    const whole = this.#peek(size);
    const frame = whole.subarray(0, size);
    const rest = whole.subarray(size);
    this.#chunks.shift();
    if (rest.length > 0) this.#chunks.unshift(rest);
    this.#buffered -= size;
    return frame;
  }
}

function readHeader(frame: Buffer): MessageHeader {
  return {
    messageLength: frame.readInt32LE(0),
    requestId: frame.readInt32LE(4),
    responseTo: frame.readInt32LE(8),
    opCode: frame.readInt32LE(12),
  };
}

function readCString(frame: Buffer, offset: number, end: number): [string, number] {
  const nul = frame.indexOf(0, offset);
  if (nul < 0 || nul >= end) throw new WireProtocolError('unterminated C string');
  return [frame.toString('utf8', offset, nul), nul + 1];
}

function readDocument(frame: Buffer, offset: number, end: number, what: string): [Document, number] {
  if (offset + 5 > end) throw new WireProtocolError(`truncated ${what}: no room for a BSON document`);
  const size = frame.readInt32LE(offset);
  if (size < 5 || offset + size > end) throw new WireProtocolError(`invalid BSON document length ${size} in ${what}`);
  if (size > MAX_BSON_OBJECT_SIZE + 16 * 1024) {
    throw new WireProtocolError(`BSON document of ${size} bytes in ${what} exceeds the maximum object size`);
  }
  try {
    const document = deserializeDocument(frame.subarray(offset, offset + size));
    return [document, offset + size];
  } catch (error) {
    throw new WireProtocolError(`invalid BSON in ${what}: ${(error as Error).message}`);
  }
}

/** Decodes one complete frame; throws WireProtocolError for anything malformed or unsupported. */
export function decodeMessage(frame: Buffer): WireRequest {
  const header = readHeader(frame);
  if (header.messageLength !== frame.length) throw new WireProtocolError('message length does not match frame');
  switch (header.opCode) {
    case OP_CODES.msg:
      return decodeOpMsg(frame, header);
    case OP_CODES.query:
      return decodeOpQuery(frame, header);
    default:
      throw new WireProtocolError(`unsupported opCode ${header.opCode}`);
  }
}

function decodeOpMsg(frame: Buffer, header: MessageHeader): OpMsgRequest {
  if (frame.length < HEADER_SIZE + 5) throw new WireProtocolError('OP_MSG too short');
  const flags = frame.readUInt32LE(HEADER_SIZE);
  const unknownRequired = flags & 0xffff & ~KNOWN_REQUIRED_FLAGS;
  if (unknownRequired !== 0) throw new WireProtocolError(`OP_MSG has unknown required flag bits 0x${unknownRequired.toString(16)}`);
  let end = frame.length;
  if (flags & OP_MSG_FLAGS.checksumPresent) {
    end -= 4;
    if (end < HEADER_SIZE + 5) throw new WireProtocolError('OP_MSG too short for its checksum');
    const expected = frame.readUInt32LE(end);
    const actual = crc32c(frame.subarray(0, end));
    if (expected !== actual) throw new WireProtocolError('OP_MSG checksum mismatch');
  }
  let offset = HEADER_SIZE + 4;
  let body: Document | undefined;
  const sequences: Array<[string, Document[]]> = [];
  while (offset < end) {
    const kind = frame.readUInt8(offset);
    offset += 1;
    if (kind === 0) {
      if (body !== undefined) throw new WireProtocolError('OP_MSG has more than one body section');
      [body, offset] = readDocument(frame, offset, end, 'OP_MSG body');
    } else if (kind === 1) {
      if (offset + 4 > end) throw new WireProtocolError('truncated document sequence');
      const size = frame.readInt32LE(offset);
      const sectionEnd = offset + size;
      if (size < 5 || sectionEnd > end) throw new WireProtocolError(`invalid document sequence length ${size}`);
      const [identifier, afterIdentifier] = readCString(frame, offset + 4, sectionEnd);
      let cursor = afterIdentifier;
      const documents: Document[] = [];
      while (cursor < sectionEnd) {
        let document: Document;
        [document, cursor] = readDocument(frame, cursor, sectionEnd, `document sequence '${identifier}'`);
        documents.push(document);
      }
      sequences.push([identifier, documents]);
      offset = sectionEnd;
    } else {
      throw new WireProtocolError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (body === undefined) throw new WireProtocolError('OP_MSG has no body section');
  for (const [identifier, documents] of sequences) {
    if (identifier in body) throw new WireProtocolError(`document sequence '${identifier}' duplicates a body field`);
    body[identifier] = documents;
  }
  return { kind: 'msg', header, flags, command: body };
}

function decodeOpQuery(frame: Buffer, header: MessageHeader): OpQueryRequest {
  if (frame.length < HEADER_SIZE + 4 + 2 + 8 + 5) throw new WireProtocolError('OP_QUERY too short');
  const flags = frame.readInt32LE(HEADER_SIZE);
  const [fullCollectionName, afterName] = readCString(frame, HEADER_SIZE + 4, frame.length);
  if (afterName + 8 > frame.length) throw new WireProtocolError('truncated OP_QUERY');
  const numberToSkip = frame.readInt32LE(afterName);
  const numberToReturn = frame.readInt32LE(afterName + 4);
  const [query] = readDocument(frame, afterName + 8, frame.length, 'OP_QUERY query');
  return { kind: 'query', header, flags, fullCollectionName, numberToSkip, numberToReturn, query };
}

let nextRequestId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const head = Buffer.allocUnsafe(HEADER_SIZE);
  head.writeInt32LE(length, 0);
  head.writeInt32LE(nextRequestId, 4);
  nextRequestId = (nextRequestId + 1) & 0x7fffffff;
  head.writeInt32LE(responseTo, 8);
  head.writeInt32LE(opCode, 12);
  return head;
}

/** Encodes an OP_MSG reply with a single body section. */
export function encodeOpMsg(responseTo: number, body: Document, flags = 0): Buffer {
  const bytes = BSON.serialize(body, SERIALIZE_OPTIONS);
  const length = HEADER_SIZE + 4 + 1 + bytes.length;
  const prefix = Buffer.allocUnsafe(5);
  prefix.writeUInt32LE(flags, 0);
  prefix.writeUInt8(0, 4);
  return Buffer.concat([header(length, responseTo, OP_CODES.msg), prefix, bytes], length);
}

/** Encodes the OP_REPLY that answers a legacy OP_QUERY command (the handshake). */
export function encodeOpReply(responseTo: number, document: Document): Buffer {
  const bytes = BSON.serialize(document, SERIALIZE_OPTIONS);
  const length = HEADER_SIZE + 20 + bytes.length;
  const fields = Buffer.alloc(20);
  // AwaitCapable (bit 3), as mongod sets it; cursorId 0, startingFrom 0, one document.
  fields.writeInt32LE(8, 0);
  fields.writeInt32LE(1, 16);
  return Buffer.concat([header(length, responseTo, OP_CODES.reply), fields, bytes], length);
}
