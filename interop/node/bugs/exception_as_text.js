'use strict'
// Reproduces gearman 2.1.0 (npm) handing a WORK_EXCEPTION payload over as a UTF-8 string: bytes
// that are not UTF-8 come out as U+FFFD. Prints the payload it got, as hex of its UTF-8 bytes.
//   node exception_as_text.js HOST PORT FUNCTION SECONDS
const gearman = require('gearman')
const [host, port, fn, seconds] = process.argv.slice(2)
if (seconds === undefined) { process.stderr.write('usage: node exception_as_text.js HOST PORT FUNCTION SECONDS\n'); process.exit(2) }
setTimeout(() => { process.stdout.write('timeout\n'); process.exit(3) }, Number(seconds) * 1000).unref()
const client = gearman(host, Number(port))
client.on('WORK_EXCEPTION', (job) => { process.stdout.write(Buffer.from(job.exception, 'utf8').toString('hex') + '\n'); process.exit(0) })
client.on('WORK_COMPLETE', () => { process.stdout.write('complete\n'); process.exit(1) })
client.connect(() => { client.setOption('exceptions'); client.submitJob(fn, 'x') })
