// The JS client under load: `node load.mjs <service> <concurrency> <seconds>` calls
// Helloworld.Call from that many concurrent callers and prints what bench/rpc/load prints:
// {"requests","errors","seconds","rps","p50_us","p99_us"}.
import { Client } from '../../node/index.mjs'

const [service = 'helloworld', concurrency = '64', seconds = '10'] = process.argv.slice(2)
const client = new Client()
await client.call(service, 'Helloworld.Call', { name: 'warm' })

const until = performance.now() + Number(seconds) * 1000
const started = performance.now()
const latencies = []
let errors = 0
async function caller() {
  while (performance.now() < until) {
    const at = performance.now()
    try {
      const rsp = await client.call(service, 'Helloworld.Call', { name: 'Alice' })
      if (rsp.msg === 'Hello Alice') latencies.push((performance.now() - at) * 1000)
      else errors++
    } catch {
      errors++
    }
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, caller))
const elapsed = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const at = (q) => Math.round(latencies[Math.min(Math.floor(latencies.length * q), latencies.length - 1)] ?? 0)
console.log(
  JSON.stringify({
    requests: latencies.length,
    errors,
    seconds: elapsed,
    rps: Math.round(latencies.length / elapsed),
    p50_us: at(0.5),
    p99_us: at(0.99),
  }),
)
