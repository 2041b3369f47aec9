// The components on servers from JS, against a real NATS (scripts/servers.sh, in a directory of
// this run's own): a service found through the NATS registry and called, pub/sub over core NATS
// and JetStream, the NATS key-value store, and "registry unavailable" apart from "not found".
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Broker, Client, MicroError, Registry, Service, Store } from '../index.mjs'

const script = new URL('../../scripts/servers.sh', import.meta.url).pathname
const env = { ...process.env, MICRO_SERVERS_DIR: mkdtempSync(join(tmpdir(), 'libmicro-servers-node-')) }
const servers = (...args) => execFileSync(script, args, { env, encoding: 'utf8' }).trim()
let nats

before(() => {
  servers('start', 'nats')
  nats = servers('url', 'nats')
})

after(() => servers('stop'))

test('a JS service on the NATS registry is found and called', async () => {
  const registry = new Registry('nats', nats)
  assert.equal(registry.kind, 'nats')
  const broker = new Broker('memory')
  const svc = new Service('natsgreeter', { registry, broker }).handle('Greeter.Hello', async (req) => ({
    msg: `Hello ${req.name}`,
  }))
  await svc.start()
  try {
    const client = new Client({ registry, broker })
    assert.deepEqual(await client.call('natsgreeter', 'Greeter.Hello', { name: 'Nat' }), { msg: 'Hello Nat' })
    const missing = await registry.getService('nobody-here').catch((e) => e)
    assert.ok(missing instanceof MicroError)
    assert.equal(missing.kind, 'not_found')
  } finally {
    await svc.stop()
  }
  const down = await new Registry('nats', 'nats://127.0.0.1:1').getService('natsgreeter').catch((e) => e)
  assert.equal(down.kind, 'unavailable')
  assert.match(down.detail, /registry unavailable/)
})

for (const options of ['', '?jetstream=true']) {
  test(`pub/sub over NATS${options}`, async () => {
    const broker = new Broker('nats', { address: nats + options })
    assert.equal(broker.kind, 'nats')
    const topic = `js-news-${process.pid}`
    let got
    const subscription = await broker.subscribe(
      topic,
      (message, event) => {
        got = { message, event }
      },
      { queue: 'readers' },
    )
    await broker.publish(topic, { hello: 'world' }, { header: { k: 'v' } })
    const deadline = Date.now() + 10000
    while (!got && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    await subscription.unsubscribe()
    assert.deepEqual(got.message, { hello: 'world' })
    assert.equal(got.event.topic, topic)
    assert.equal(got.event.header.k, 'v')
  })
}

test('the NATS key-value store writes, reads by prefix, lists and deletes', async () => {
  const store = new Store('nats', { address: nats, database: `js_${process.pid}` })
  await store.write('user/1', 'alice')
  await store.write('user/2', Buffer.from('bob'))
  const read = await store.read('user/', { prefix: true })
  assert.deepEqual(
    read.map((r) => r.value.toString()),
    ['alice', 'bob'],
  )
  assert.deepEqual(await store.list({ prefix: 'user/' }), ['user/1', 'user/2'])
  await store.delete('user/1')
  const gone = await store.read('user/1').catch((e) => e)
  assert.equal(gone.code, 404)
})
