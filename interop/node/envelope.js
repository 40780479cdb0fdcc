'use strict'
// Envelope v1 reader and writer for Node peers of django-gearman, written from docs/design.md.
//   const { ct, value } = readEnvelope(payload, job, { k1: Buffer.from('secret') })
//   const payload = writeEnvelope(value, 'application/json', job, { kid: 'k1', secret })
// Errors are GmeError with a .category (malformed, bad-signature, decode, ...).
const crypto = require('node:crypto')
const zlib = require('node:zlib')
const { Decoder, ExtData, encode: msgpackEncode } = require('@msgpack/msgpack')


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

// Python refuses containers nested more than 1024 deep; JSON.parse and @msgpack/msgpack do not.
const MAX_DEPTH = 1024
function refuseDeepNesting (value) {
  const stack = [[value, 0]]
  while (stack.length) {
    const [item, depth] = stack.pop()
    if (item === null || typeof item !== 'object' || item instanceof Uint8Array || item instanceof Date) continue
    if (depth >= MAX_DEPTH) refuse('decode', `nested deeper than ${MAX_DEPTH} levels`)
    for (const child of Object.values(item)) stack.push([child, depth + 1])
  }
  return value
}

// JSON integers: Python writes and reads exactly [-2^63, 2^64-1]. JSON.parse would round every
// integer beyond 2^53, so such literals are read as BigInt (as @msgpack/msgpack does with
// useBigInt64), and literals beyond 64 bits are refused, never rounded.
const INT_MIN = -(2n ** 63n)
const INT_MAX = 2n ** 64n - 1n
const STRING_OR_LONG_INTEGER = /"[^"\\]*(?:\\.[^"\\]*)*"|(?<![0-9.eE+-])-?[0-9]{16,}(?![0-9.eE])/g

// A number literal too large for a double (1e400) parses as Infinity; Python refuses it.
function refuseInfinity (value) {
  const stack = [value]
  while (stack.length) {
    const item = stack.pop()
    if (typeof item === 'number' && !Number.isFinite(item)) refuse('decode', 'a number is too large for a double')
    if (item !== null && typeof item === 'object') stack.push(...Object.values(item))
  }
  return value
}

function parseJson (text) {
  const value = /[0-9]{16}/.test(text) ? parseLongIntegers(text) : JSON.parse(text)
  return /[0-9]{19}|[eE][+-]?[0-9]{3}/.test(text) ? refuseInfinity(value) : value
}

function parseLongIntegers (text) {
  const marker = `\u0000int-${crypto.randomBytes(8).toString('hex')}:` // no real string holds it
  let big = false
  const marked = text.replace(STRING_OR_LONG_INTEGER, (token) => {
    if (token.startsWith('"')) return token
    const n = BigInt(token)
    if (n < INT_MIN || n > INT_MAX) refuse('decode', `integer ${token} is beyond the 64-bit range`)
    if (Number.isSafeInteger(Number(token))) return token
    big = true
    return JSON.stringify(marker + token)
  })
  if (!big) return JSON.parse(text)
  return JSON.parse(marked, (key, v) => typeof v === 'string' && v.startsWith(marker) ? BigInt(v.slice(marker.length)) : v)
}

// The JSON writer: a BigInt within 64 bits is written with all its digits, an integer-valued
// number beyond 2^53 in exponent form (it is a double: a reader must not take the digits
// JSON.stringify would print for an exact integer), and NaN, infinities and larger BigInts are
// refused (JSON.stringify would write null or throw a TypeError).
function jsonText (value) {
  const marker = `\u0000raw-${crypto.randomBytes(8).toString('hex')}:`
  let raw = false
  const text = JSON.stringify(value, (key, v) => {
    if (typeof v === 'bigint') {
      if (v < INT_MIN || v > INT_MAX) refuse('not-accepted', `JSON cannot carry the integer ${v}: beyond 64 bits`)
      raw = true
      return marker + v.toString()
    }
    if (typeof v === 'number' && !Number.isFinite(v)) refuse('not-accepted', `JSON cannot carry ${v}`)
    if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) {
      raw = true
      return marker + v.toExponential()
    }
    return v
  })
  if (!raw) return text
  const quoted = JSON.stringify(marker).slice(0, -1)
  return text.split(quoted).map((part, i) => i === 0 ? part : part.replace('"', '')).join('')
}

const BODY_READERS = {
  'application/json': (body) => refuseDeepNesting(parseJson(strictUtf8.decode(body))),
  'application/msgpack': (body) => {
    const value = new StrictDecoder({ useBigInt64: true }).decode(body)
    refuseExtensions(value)
    return refuseDeepNesting(value)
  },
  'text/plain': (body) => strictUtf8.decode(body),
  'application/octet-stream': (body) => Buffer.from(body)
}

const DEFAULT_POLICY = {
  accept: ['application/json', 'application/msgpack'],
  requireSignature: false,
  maxHeaderBytes: 8 * 1024,
  maxBodyBytes: 16 * 1024 * 1024,
  maxDecodedBytes: 64 * 1024 * 1024,
  unenveloped: null // a content type for payloads without the GME/ marker
}
const UNSAFE = ['application/x-python-pickle'] // needs a signature; never readable here

// The reader (copy this one). Checks run in the order of docs/envelope.md: marker, header grammar,
// sizes, content type, signature, then zlib and the body. keys maps key id => secret (Buffer).
function readEnvelope (payload, job, keys = {}, policy = {}) {
  const p = { ...DEFAULT_POLICY, ...Object.fromEntries(Object.entries(policy).filter(([, v]) => v != null)) }
  if (payload.subarray(0, 4).toString('latin1') !== 'GME/') return readUnenveloped(payload, p)
  const nl = payload.subarray(0, p.maxHeaderBytes + 1).indexOf(0x0a)
  const [magic, ...tokens] = payload.subarray(0, nl < 0 ? 16 : nl).toString('latin1').split(' ')
  if (magic !== 'GME/1') {
    const version = /^GME\/([1-9][0-9]{0,8})$/.exec(magic)
    refuse(version && Number(version[1]) !== 1 ? 'unsupported-version' : 'malformed', 'not a GME/1 envelope')
  }
  if (nl < 0 && payload.length > p.maxHeaderBytes) refuse('too-large', 'header too long')
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
  if (body.length > p.maxBodyBytes) refuse('too-large', 'body too long')
  if (!p.accept.includes(f.ct)) refuse('not-accepted', `content type ${f.ct}`)
  if (f.enc !== undefined && f.enc !== 'zlib') refuse('not-accepted', `encoding ${f.enc}`)
  if (f.sig !== undefined) {
    const secret = Object.hasOwn(keys, f.kid) ? keys[f.kid] : refuse('unknown-key', `unknown key id '${f.kid}'`)
    const signed = header.slice(0, header.lastIndexOf(' sig='))
    const expected = crypto.createHmac('sha256', secret).update(`${job}\n${signed}\n`).update(body).digest()
    if (!crypto.timingSafeEqual(expected, Buffer.from(f.sig, 'hex'))) refuse('bad-signature', `signature does not match job '${job}'`)
  } else if (p.requireSignature || UNSAFE.includes(f.ct)) refuse('signature-missing', 'envelope is not signed')
  if (f.enc !== undefined) body = inflate(body, p.maxDecodedBytes)
  return { ...decodeBody(f.ct, body, p.maxDecodedBytes), fields: f }
}

// The one rule for payloads without the marker: an unsigned body of the policy's content type.
function readUnenveloped (payload, p) {
  if (!p.unenveloped) refuse('malformed', 'not an envelope: no GME/ marker')
  if (payload.length > p.maxBodyBytes) refuse('too-large', 'payload too long')
  if (p.requireSignature || UNSAFE.includes(p.unenveloped)) refuse('signature-missing', 'unenveloped payloads are unsigned')
  return { ...decodeBody(p.unenveloped, payload, p.maxDecodedBytes), fields: {} }
}

function decodeBody (ct, body, limit) {
  if (body.length > limit) refuse('too-large', 'body too long')
  const reader = BODY_READERS[ct] || refuse('not-accepted', `no reader for ${ct}`)
  try {
    return { ct, value: reader(body) }
  } catch (err) {
    throw err instanceof GmeError ? err : new GmeError('decode', `unreadable ${ct} body: ${err.message}`)
  }
}

// zlib as Python's reader takes it: never more than limit bytes out (a bomb is stopped early),
// and corrupt, truncated or trailing bytes are refused.
function inflate (body, limit) {
  let result
  try {
    result = zlib.inflateSync(body, { maxOutputLength: limit + 1, info: true })
  } catch (err) {
    if (err.code === 'ERR_BUFFER_TOO_LARGE') refuse('too-large', `body inflates beyond ${limit} bytes`)
    refuse('decode', `corrupt or truncated zlib body: ${err.message}`)
  }
  if (result.buffer.length > limit) refuse('too-large', `body inflates beyond ${limit} bytes`)
  if (result.engine.bytesWritten !== body.length) refuse('decode', 'trailing bytes after the zlib body')
  return result.buffer
}

const BODY_WRITERS = {
  'application/json': (value) => Buffer.from(jsonText(value), 'utf8'),
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

module.exports = { readEnvelope, writeEnvelope, GmeError, DEFAULT_POLICY }
