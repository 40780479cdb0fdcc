'use strict'
// Validates job payloads against the JSON Schemas that `manage.py gearman_schema` exports
// (docs/interop.md, "Checking calls against the exported schema"), with Ajv (JSON Schema 2020-12):
//   node validate_schema.js < request.json
//   request: {"bundle": <gearman_schema output>, "items": [{"job": NAME, "part": "call" | "result",
//             "payload_hex": HEX, "function": GEARMAN_FUNCTION, "keys": {kid: hex}}]}
//   answer:  [{"ok": true, "valid": true} | {"ok": true, "valid": false, "errors": [...]}
//             | {"ok": false, "error": CATEGORY, "message": "..."}]   (an envelope refused)
// The envelope is read (and its signature checked) by envelope.js first; its value is validated.
const fs = require('node:fs')
const Ajv2020 = require('ajv/dist/2020')
const addFormats = require('ajv-formats')
const { readEnvelope, GmeError } = require('./envelope')

function validators (bundle) {
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, strictTuples: false })
  addFormats(ajv)
  const compiled = {}
  for (const [name, entry] of Object.entries(bundle.jobs)) {
    compiled[name] = { call: ajv.compile(entry.call), result: ajv.compile(entry.result) }
  }
  return compiled
}

function main () {
  const request = JSON.parse(fs.readFileSync(0, 'utf8'))
  const compiled = validators(request.bundle)
  const answers = request.items.map((item) => {
    const keys = Object.fromEntries(Object.entries(item.keys || {}).map(([kid, hex]) => [kid, Buffer.from(hex, 'hex')]))
    let value
    try {
      value = readEnvelope(Buffer.from(item.payload_hex, 'hex'), item.function, keys).value
    } catch (err) {
      if (!(err instanceof GmeError)) throw err
      return { ok: false, error: err.category, message: err.message }
    }
    const validate = compiled[item.job][item.part]
    if (validate(value)) return { ok: true, valid: true }
    return { ok: true, valid: false, errors: validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}`) }
  })
  process.stdout.write(JSON.stringify(answers) + '\n')
}

main()
