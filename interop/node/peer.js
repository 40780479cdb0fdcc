'use strict'
// Node peer for the interop tests (docs/interop.md):
//   node peer.js worker --server=HOST:PORT --prefix=interop.node [--key=KID=HEX] [--max-jobs=N] [--seconds=S]
//   node peer.js client --server=HOST:PORT --function=NAME --call=JSON [--ct=CT] [--key=KID=HEX]
//                       [--verify-key=KID=HEX] [--zlib] [--timeout=S]
//   node peer.js read  < requests.json   # [{payload_hex, job, keys: {kid: hex}, policy: {accept, ...}}]
//   node peer.js write < requests.json   # [{value, ct, job, kid, secret_hex, zlib}] -> [{payload_hex}]
// Values cross the process boundary as canonical JSON: bytes {"$bytes": HEX}, {"$float": "nan"},
// msgpack timestamps {"$timestamp": ISO-8601}; integers beyond 2^53 keep all their digits.
// In write requests, {"$int": DIGITS} is an integer that JSON.parse would round (a BigInt here),
// and {"$float": ...} a non-finite number.
const fs = require('node:fs')
const gearman = require('gearman')
const { readEnvelope, writeEnvelope, GmeError } = require('./envelope')

class NotNegotiable extends Error {}
const refuse = (message) => { throw new NotNegotiable(message) }

function canon (v) {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number' && !Number.isFinite(v)) return JSON.stringify({ $float: Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf' })
  if (v instanceof Uint8Array) return JSON.stringify({ $bytes: Buffer.from(v).toString('hex') })
  if (v instanceof Date) return JSON.stringify({ $timestamp: v.toISOString() })
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, item]) => `${JSON.stringify(k)}:${canon(item)}`).join(',')}}`
  return JSON.stringify(v)
}

function fromCanon (v) {
  if (Array.isArray(v)) return v.map(fromCanon)
  if (v && typeof v === 'object') {
    const keys = Object.keys(v)
    if (keys.length === 1 && keys[0] === '$bytes') return Buffer.from(v.$bytes, 'hex')
    if (keys.length === 1 && keys[0] === '$int') return BigInt(v.$int)
    if (keys.length === 1 && keys[0] === '$float') return { nan: NaN, inf: Infinity, '-inf': -Infinity }[v.$float]
    return Object.fromEntries(keys.map((k) => [k, fromCanon(v[k])]))
  }
  return v
}

const secrets = (keys = {}) => Object.fromEntries(Object.entries(keys).map(([kid, hex]) => [kid, Buffer.from(hex, 'hex')]))
const requests = () => JSON.parse(fs.readFileSync(0, 'utf8'))

function cmdRead () {
  const out = requests().map((req) => {
    try {
      const policy = req.policy || {}
      const { ct, value } = readEnvelope(Buffer.from(req.payload_hex, 'hex'), req.job, secrets(req.keys), {
        accept: policy.accept,
        requireSignature: policy.require_signature,
        maxHeaderBytes: policy.max_header_bytes,
        maxBodyBytes: policy.max_body_bytes,
        maxDecodedBytes: policy.max_decoded_bytes,
        unenveloped: policy.unenveloped
      })
      return `{"ok":true,"ct":${canon(ct)},"value":${canon(value)}}`
    } catch (err) {
      if (!(err instanceof GmeError)) throw err
      return canon({ ok: false, error: err.category, message: err.message })
    }
  })
  process.stdout.write(`[${out.join(',')}]\n`)
}

function cmdWrite () {
  const out = requests().map((req) => {
    const sign = req.kid === undefined ? {} : { kid: req.kid, secret: Buffer.from(req.secret_hex, 'hex') }
    return { payload_hex: writeEnvelope(fromCanon(req.value), req.ct, req.job, { zlib: Boolean(req.zlib), ...sign }).toString('hex') }
  })
  process.stdout.write(JSON.stringify(out) + '\n')
}

function parseOptions (argv) {
  const opt = { key: [] }
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=([\s\S]*))?$/.exec(arg)
    if (!m) throw new Error(`bad argument ${arg}`)
    if (m[1] === 'key') opt.key.push(m[2])
    else opt[m[1]] = m[2] === undefined ? true : m[2]
  }
  return opt
}

// Submits one enveloped call and prints the outcome; every path ends the process in bounded time.
function cmdClient (opt) {
  const [host, port] = opt.server.split(':')
  const keys = secrets(Object.fromEntries(opt.key.map((pair) => pair.split('='))))
  const kid = Object.keys(keys)[0]
  // --verify-key=KID=HEX reads signed replies without signing the request (or signs with --key).
  const replyKeys = opt['verify-key'] ? secrets(Object.fromEntries([opt['verify-key'].split('=')])) : keys
  const fn = opt.function
  const seconds = Number(opt.timeout || 30)
  const finish = (line, code = 0) => { process.stdout.write(line + '\n'); process.exit(code) }
  setTimeout(() => finish(canon({ state: 'timeout', seconds }), 3), seconds * 1000).unref()
  const decodeReply = (state, payload) => {
    const { ct, value, fields } = readEnvelope(payload, fn, replyKeys)
    finish(`{"state":${canon(state)},"ct":${canon(ct)},"kid":${canon(fields.kid)},"value":${canon(value)}}`)
  }
  const client = gearman(host, Number(port))
  client.on('error', (err) => finish(canon({ state: 'error', error: String(err) }), 4))
  client.on('WORK_COMPLETE', (job) => decodeReply('complete', job.payload))
  // gearman 2.1.0 hands the exception over as a UTF-8 string: fine for JSON envelopes only.
  client.on('WORK_EXCEPTION', (job) => decodeReply('exception', Buffer.from(job.exception, 'utf8')))
  client.on('WORK_FAIL', () => finish(canon({ state: 'failed' })))
  client.connect(() => {
    client.setOption('exceptions')
    const call = JSON.parse(opt.call)
    const sign = kid === undefined ? {} : { kid, secret: keys[kid] }
    // Ask for JSON replies: see the WORK_EXCEPTION note above.
    const payload = writeEnvelope(call, opt.ct || 'application/json', fn, { zlib: Boolean(opt.zlib), accept: 'application/json', ...sign })
    client.submitJob(fn, payload)
  })
}

// The jobs every peer worker offers (tests/interop/ calls them): PREFIX.reverse, .echo, .add,
// .power (an exact integer, a BigInt here), .fail.
const JOBS = {
  reverse: (args) => [...args[0]].reverse().join(''),
  echo: (args, kwargs) => ({ args, kwargs }),
  add: (args) => args.reduce((sum, n) => sum + n, 0),
  power: (args) => BigInt(args[0]) ** BigInt(args[1]),
  fail: (args) => { throw new Error(`failed: ${args[0]}`) }
}
const WRITABLE = ['application/json', 'application/msgpack']

// The reply's content type (docs/envelope.md, "Reply content type"): the first type of the
// caller's accept list this worker writes, the request's type without a list, none (null) when
// it writes none of the listed types.
function replyType (fields, requestType) {
  if (fields.accept === undefined) return requestType
  return fields.accept.split(',').find((c) => WRITABLE.includes(c)) ?? null
}

const errorValue = (err, refused) => {
  const error = { type: `interop.node.${err.constructor.name}`, message: err.message, traceback: err.stack || '' }
  return { error: refused ? { ...error, refused: true } : error }
}

// Serves the jobs until --max-jobs jobs are done or --seconds have passed.
function cmdWorker (opt) {
  const [host, port] = opt.server.split(':')
  const keys = secrets(Object.fromEntries(opt.key.map((pair) => pair.split('='))))
  const kid = Object.keys(keys)[0]
  const maxJobs = Number(opt['max-jobs'] || 100)
  setTimeout(() => process.exit(0), Number(opt.seconds || 60) * 1000).unref()
  const worker = gearman(host, Number(port))
  let done = 0
  worker.on('error', (err) => { process.stderr.write(`worker error: ${err}\n`); process.exit(1) })
  worker.on('NOOP', () => worker.grabJob())
  worker.on('NO_JOB', () => worker.preSleep())
  worker.on('JOB_ASSIGN', (job) => {
    const name = job.func_name.slice(opt.prefix.length + 1)
    const sign = kid === undefined ? {} : { kid, secret: keys[kid] }
    let ct = 'application/json'
    let envelope
    let refused = true // until the call is read and checked
    try {
      const read = readEnvelope(job.payload, job.func_name, keys, { requireSignature: kid !== undefined })
      const call = read.value
      if (!call || !Array.isArray(call.args) || typeof call.kwargs !== 'object' || Array.isArray(call.kwargs)) {
        throw new TypeError('body is not {"args": [...], "kwargs": {...}}')
      }
      ct = replyType(read.fields, read.ct) ?? refuse(`no content type of accept=${read.fields.accept} can be written`)
      refused = false
      envelope = writeEnvelope(JOBS[name](call.args, call.kwargs), ct, job.func_name, sign)
      worker.sendWorkComplete(job.handle, envelope)
    } catch (err) {
      // Error envelopes are JSON, whatever the caller accepts: every peer reads them.
      worker.sendWorkException(job.handle, writeEnvelope(errorValue(err, refused), 'application/json', job.func_name, sign))
    }
    done += 1
    if (done >= maxJobs) { worker.close(); return }
    worker.grabJob()
  })
  worker.connect(() => {
    for (const name of Object.keys(JOBS)) worker.addFunction(`${opt.prefix}.${name}`)
    process.stdout.write('ready\n')
    worker.grabJob()
  })
}

module.exports = { canon, fromCanon }

if (require.main === module) {
  const [command, ...rest] = process.argv.slice(2)
  if (command === 'read') cmdRead()
  else if (command === 'write') cmdWrite()
  else if (command === 'client') cmdClient(parseOptions(rest))
  else if (command === 'worker') cmdWorker(parseOptions(rest))
  else { process.stderr.write('usage: node peer.js read|write|client|worker ...\n'); process.exit(2) }
}
