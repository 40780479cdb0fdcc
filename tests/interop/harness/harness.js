// Runs the Node snippets of docs/interop.md (inserted below by test_doc_snippets.py) on requests from stdin.
const { canon } = require('{repo}/interop/node/peer.js')
/*SNIPPETS*/
const out = JSON.parse(require('node:fs').readFileSync(0, 'utf8')).map((r) => {
  if (r.mode === 'write') {
    const secret = r.kid === undefined ? undefined : Buffer.from(r.secret_hex, 'hex')
    return JSON.stringify({ payload_hex: writeGmeEnvelope(r.value, r.job, r.kid, secret).toString('hex') })
  }
  const keys = Object.fromEntries(Object.entries(r.keys).map(([k, v]) => [k, Buffer.from(v, 'hex')]))
  try {
    const [ct, value] = readGmeEnvelope(Buffer.from(r.payload_hex, 'hex'), r.job, keys)
    return `{"ok":true,"ct":${canon(ct)},"value":${canon(value)}}`
  } catch (err) { return JSON.stringify({ ok: false, error: String(err) }) }
})
process.stdout.write(`[${out.join(',')}]`)
