'use strict'
// Envelope v1 reader and writer for Node peers of django-gearman, written from docs/design.md.
//   const { ct, value } = readEnvelope(payload, job, { k1: Buffer.from('secret') })
//   const payload = writeEnvelope(value, 'application/json', job, { kid: 'k1', secret })
// Errors are GmeError with a .category (malformed, bad-signature, decode, ...).
const crypto = require('node:crypto')
const zlib = require('node:zlib')
const { Decoder, ExtData, encode: msgpackEncode } = require('@msgpack/msgpack')

const DEFAULT_ACCEPT = ['application/json', 'application/msgpack']
const MAX_BODY = 32 * 1024 * 1024

class GmeError extends Error {
  constructor (category, message) {
    super(`${category}: ${message}`)
    this.category = category
  }
}
const refuse = (category, message) => { throw new GmeError(category, message) }

// @msgpack/msgpack turns invalid UTF-8 into U+FFFD; Python refuses it, and so do we.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
class StrictDecoder extends Decoder {
  decodeUtf8String (byteLength, headerOffset) {
    const start = this.pos + headerOffset
    if (this.bytes.byteLength >= start + byteLength) strictUtf8.decode(this.bytes.subarray(start, start + byteLength))
    return super.decodeUtf8String(byteLength, headerOffset)
  }
}

function refuseExtensions (value) {
  if (value instanceof ExtData) refuse('decode', `msgpack extension type ${value.type} is not supported`)
  if (Array.isArray(value)) value.forEach(refuseExtensions)
  else if (value && typeof value === 'object' && !(value instanceof Uint8Array) && !(value instanceof Date)) Object.values(value).forEach(refuseExtensions)
}

const BODY_READERS = {
  'application/json': (body) => JSON.parse(strictUtf8.decode(body)),
  'application/msgpack': (body) => {
    const value = new StrictDecoder({ useBigInt64: true }).decode(body)
    refuseExtensions(value)
    return value
  },
  'text/plain': (body) => strictUtf8.decode(body),
  'application/octet-stream': (body) => Buffer.from(body)
}

// The reader (copy this one). Checks run in the order of docs/envelope.md: marker, header grammar,
// content type, signature, then zlib and the body. keys maps key id => secret (Buffer).
function readEnvelope (payload, job, keys = {}, { requireSignature = false, accept = DEFAULT_ACCEPT } = {}) {
  const nl = payload.indexOf(0x0a)
  const [magic, ...tokens] = payload.subarray(0, nl < 0 ? payload.length : nl).toString('latin1').split(' ')
  if (magic !== 'GME/1') {
    const version = /^GME\/([0-9]{1,9})$/.exec(magic)
    refuse(version && Number(version[1]) !== 1 ? 'unsupported-version' : 'malformed', 'not a GME/1 envelope')
  }
  if (nl < 0) refuse('malformed', 'header is not terminated by a newline')
  const header = payload.subarray(0, nl).toString('latin1')
  let body = payload.subarray(nl + 1)
  const f = {}
  for (const token of tokens) {
    const m = /^([a-z][a-z0-9-]*)=([\x21-\x7e]+)$/.exec(token) || refuse('malformed', `bad token '${token}'`)
    if (Object.hasOwn(f, m[1])) refuse('malformed', `duplicate key ${m[1]}`)
    f[m[1]] = m[2]
  }
  if (f.ct === undefined) refuse('malformed', 'no ct')
  if (f.sig !== undefined && !tokens[tokens.length - 1].startsWith('sig=')) refuse('malformed', 'sig is not the last token')
  if (f.sig !== undefined && !/^[0-9a-f]{64}$/.test(f.sig)) refuse('malformed', 'sig must be 64 lowercase hex digits')
  if ((f.sig === undefined) !== (f.kid === undefined)) refuse('malformed', 'kid and sig go together')
  if (f.accept !== undefined && f.accept.split(',').includes('')) refuse('malformed', 'empty item in accept')
  if (!accept.includes(f.ct) || !BODY_READERS[f.ct]) refuse('not-accepted', `content type ${f.ct}`)
  if (f.enc !== undefined && f.enc !== 'zlib') refuse('not-accepted', `encoding ${f.enc}`)
  if (f.sig !== undefined) {
    const secret = Object.hasOwn(keys, f.kid) ? keys[f.kid] : refuse('unknown-key', `unknown key id '${f.kid}'`)
    const signed = header.slice(0, header.lastIndexOf(' sig='))
    const expected = crypto.createHmac('sha256', secret).update(`${job}\n${signed}\n`).update(body).digest()
    if (!crypto.timingSafeEqual(expected, Buffer.from(f.sig, 'hex'))) refuse('bad-signature', `signature does not match job '${job}'`)
  } else if (requireSignature) refuse('signature-missing', 'envelope is not signed')
  if (f.enc !== undefined) body = inflate(body)
  try {
    return { ct: f.ct, value: BODY_READERS[f.ct](body), fields: f }
  } catch (err) {
    throw err instanceof GmeError ? err : new GmeError('decode', `unreadable ${f.ct} body: ${err.message}`)
  }
}

// zlib as Python's reader takes it: corrupt, truncated and trailing bytes are all refused.
function inflate (body) {
  try {
    const { buffer, engine } = zlib.inflateSync(body, { maxOutputLength: MAX_BODY, info: true })
    if (engine.bytesWritten !== body.length) refuse('decode', 'trailing bytes after the zlib body')
    return buffer
  } catch (err) {
    throw err instanceof GmeError ? err : new GmeError('decode', `corrupt zlib body: ${err.message}`)
  }
}

const BODY_WRITERS = {
  'application/json': (value) => Buffer.from(JSON.stringify(value), 'utf8'),
  'application/msgpack': (value) => Buffer.from(msgpackEncode(value, { useBigInt64: true })),
  'text/plain': (value) => Buffer.from(String(value), 'utf8'),
  'application/octet-stream': (value) => Buffer.from(value)
}

// The writer: options.kid + options.secret sign for job, options.zlib compresses the body.
function writeEnvelope (value, ct, job, { kid, secret, zlib: compress = false, accept } = {}) {
  const writer = BODY_WRITERS[ct] || refuse('not-accepted', `cannot write ${ct}`)
  let body = writer(value)
  let header = `GME/1 ct=${ct}`
  if (compress) { body = zlib.deflateSync(body); header += ' enc=zlib' }
  if (accept) header += ` accept=${accept}`
  if (kid !== undefined) {
    header += ` kid=${kid}`
    header += ' sig=' + crypto.createHmac('sha256', secret).update(`${job}\n${header}\n`).update(body).digest('hex')
  }
  return Buffer.concat([Buffer.from(`${header}\n`, 'latin1'), body])
}

module.exports = { readEnvelope, writeEnvelope, GmeError, DEFAULT_ACCEPT }
