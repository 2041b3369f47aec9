// A JS service and a JS client in one process, sharing a memory registry and broker: calls,
// errors thrown by async handlers, streams, pub/sub, published docs and schemas, the store,
// and the gateway and MCP serving the JS handler over HTTP. Imported as an ES module.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Broker, Client, Gateway, MicroError, Registry, Service, Store, serveMcp } from '../index.mjs'

const registry = new Registry('memory')
const broker = new Broker('memory')
const store = new Store('memory')
const client = new Client({ registry, broker })
const heard = []

const greeter = new Service('greeter', { registry, broker, version: '1.2.3' })
  .handle(
    'Greeter.Hello',
    async (req, ctx) => ({ msg: `Hello ${req.name}`, caller: ctx.metadata.Caller ?? null }),
    {
      description: 'Greets a person by name',
      example: { name: 'Alice' },
      requestSchema: {
        title: 'HelloRequest',
        type: 'object',
        properties: { name: { type: 'string' } },
        required: ['name'],
      },
      responseSchema: { type: 'object', properties: { msg: { type: 'string' } } },
    },
  )
  .handle('Greeter.Fail', async (req) => {
    await new Promise((resolve) => setImmediate(resolve))
    throw new MicroError(req.detail, req.code, 'greeter')
  })
  .handle('Greeter.Crash', async () => {
    throw new TypeError('cannot read the name')
  })
  .stream('Greeter.Count', async function* (requests) {
    const { value: req } = await requests.next()
    for (let n = 1; n <= req.count; n++) yield { n }
  })
  .stream('Greeter.Echo', async function* (requests) {
    for await (const message of requests) yield { echo: message.say }
  })
  .subscribe('greetings', async (message, event) => {
    heard.push({ message, topic: event.topic })
  })

before(async () => {
  const address = await greeter.start()
  assert.match(address, /^127\.0\.0\.1:\d+$/)
})

after(() => greeter.stop())

/** Waits until `check()` is true, failing after `ms`. */
async function until(check, ms = 5000) {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) assert.fail('gave up waiting')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('a JS client calls a JS handler and gets its answer, metadata included', async () => {
  const rsp = await client.call('greeter', 'Greeter.Hello', { name: 'Alice' }, { metadata: { Caller: 'tests' } })
  assert.deepEqual(rsp, { msg: 'Hello Alice', caller: 'tests' })
})

test('an async handler that throws a MicroError reaches the caller with its id, code and detail', async () => {
  const err = await client.call('greeter', 'Greeter.Fail', { code: 403, detail: 'not yours' }).catch((e) => e)
  assert.ok(err instanceof MicroError, `${err}`)
  assert.ok(err instanceof Error)
  assert.equal(err.code, 403)
  assert.equal(err.id, 'greeter')
  assert.equal(err.detail, 'not yours')
  assert.equal(err.status, 'Forbidden')
  assert.equal(err.kind, 'forbidden')
})

test('a handler throwing a plain error is a 500 carrying its message', async () => {
  const err = await client.call('greeter', 'Greeter.Crash', {}, { retries: 0 }).catch((e) => e)
  assert.ok(err instanceof MicroError)
  assert.equal(err.code, 500)
  assert.equal(err.detail, 'cannot read the name')
})

test('calling a service nobody serves rejects with a MicroError from the client', async () => {
  const err = await client.call('nobody', 'Nobody.Call', {}, { retries: 0, timeout: 2000 }).catch((e) => e)
  assert.ok(err instanceof MicroError)
  assert.equal(err.id, 'go.micro.client')
  assert.match(err.detail, /nobody/)
  // The client's 404 has a kind of its own; a 404 made in JS is the service's.
  assert.equal(err.code, 404)
  assert.equal(err.kind, 'no_service')
  assert.equal(MicroError.notFound('no such thing').kind, 'not_found')
})

test('bad options are a clear 400', async () => {
  const err = await client.call('greeter', 'Greeter.Hello', {}, { timeout: -1 }).catch((e) => e)
  assert.ok(err instanceof MicroError)
  assert.equal(err.code, 400)
  assert.match(err.detail, /timeout/)
})

test('a server stream is an async iterator of the replies', async () => {
  const replies = []
  for await (const reply of await client.stream('greeter', 'Greeter.Count', { count: 3 })) replies.push(reply.n)
  assert.deepEqual(replies, [1, 2, 3])
})

test('a bidirectional stream answers each message', async () => {
  const stream = await client.stream('greeter', 'Greeter.Echo')
  await stream.send({ say: 'one' })
  assert.deepEqual(await stream.recv(), { echo: 'one' })
  await stream.send({ say: 'two' })
  assert.deepEqual(await stream.recv(), { echo: 'two' })
  await stream.close()
  assert.equal(await stream.recv(), undefined)
})

test('a published message reaches the service subscriber', async () => {
  await client.publish('greetings', { from: 'client' })
  await until(() => heard.length > 0)
  assert.deepEqual(heard[0], { message: { from: 'client' }, topic: 'greetings' })
})

test('a broker subscription hears JSON messages until unsubscribed', async () => {
  const got = []
  const subscription = await broker.subscribe('news', (message) => got.push(message))
  await broker.publish('news', { headline: 'libmicro in Node' })
  await until(() => got.length === 1)
  assert.deepEqual(got, [{ headline: 'libmicro in Node' }])
  await subscription.unsubscribe()
  await subscription.unsubscribe()
})

test('a RabbitMQ broker that cannot reach its server rejects with a 503 naming it, never the password', async () => {
  const down = new Broker('rabbitmq', { address: 'amqp://app:s3cret@127.0.0.1:1/shop' })
  assert.equal(down.kind, 'rabbitmq')
  await assert.rejects(
    down.publish('news', { headline: 'lost' }),
    (err) =>
      err instanceof MicroError &&
      err.kind === 'unavailable' &&
      err.detail.includes('cannot reach rabbitmq at 127.0.0.1:1/shop') &&
      !JSON.stringify(err).includes('s3cret') &&
      !err.message.includes('s3cret'),
  )
})

test('the registry registers and deregisters a service running elsewhere', async () => {
  const [greeterRecord] = await registry.getService('greeter')
  const elsewhere = {
    name: 'greeter-elsewhere',
    version: '2.0.0',
    metadata: { site: 'b' },
    endpoints: [],
    nodes: [{ id: 'elsewhere-1', address: greeterRecord.nodes[0].address, metadata: {} }],
  }
  await registry.register(elsewhere, { ttl: 60000 })
  const [found] = await registry.getService('greeter-elsewhere')
  assert.deepEqual([found.version, found.metadata, found.nodes[0].id], ['2.0.0', { site: 'b' }, 'elsewhere-1'])
  assert.deepEqual(await client.call('greeter-elsewhere', 'Greeter.Hello', { name: 'Eve' }), {
    msg: 'Hello Eve',
    caller: null,
  })
  await registry.deregister(elsewhere)
  await assert.rejects(registry.getService('greeter-elsewhere'), (err) => err instanceof MicroError && err.code === 404)
  await assert.rejects(registry.register({ name: 5 }), /a service is an object shaped as getService/)
  await assert.rejects(registry.register(elsewhere, { ttl: -1 }), /ttl must be a positive number/)
})

test('the registry publishes the description, example, version and JSON Schemas', async () => {
  const [service] = await registry.getService('greeter')
  assert.equal(service.version, '1.2.3')
  const hello = service.endpoints.find((e) => e.name === 'Greeter.Hello')
  assert.equal(hello.metadata.description, 'Greets a person by name')
  assert.deepEqual(JSON.parse(hello.metadata.example), { name: 'Alice' })
  assert.equal(JSON.parse(hello.metadata.request_schema).required[0], 'name')
  assert.equal(hello.request.type, 'HelloRequest')
  assert.equal(hello.request.values[0].name, 'name')
  assert.equal(hello.response.type, 'Response')
  const count = service.endpoints.find((e) => e.name === 'Greeter.Count')
  assert.equal(count.metadata.stream, 'true')
  assert.ok(service.endpoints.some((e) => e.name === 'Subscriber.greetings'))
})

test('a schema that is not an object schema is refused at handle() with a 400', () => {
  const svc = new Service('bad', { registry })
  assert.throws(
    () => svc.handle('Bad.Call', async () => ({}), { requestSchema: { type: 'string' } }),
    (err) => err instanceof MicroError && err.code === 400 && /object/.test(err.detail),
  )
  assert.throws(
    () => svc.handle('Bad.Other', async () => ({}), { example: '{not json' }),
    (err) => err instanceof MicroError && err.code === 400 && /example/.test(err.detail),
  )
})

test('a handler that is not a function is refused at once', () => {
  const svc = new Service('bad', { registry })
  assert.throws(() => svc.handle('Bad.Call', { not: 'a function' }), /the handler of Bad\.Call must be a function/)
  assert.throws(() => svc.subscribe('topic', 'nope'), /a message handler must be a function/)
})

test('a started service takes no more endpoints, and starts once', async () => {
  assert.throws(() => greeter.handle('Greeter.Late', async () => ({})), /before start/)
  await assert.rejects(greeter.start(), (err) => err instanceof MicroError && /running/.test(err.detail))
})

test('the store writes, reads, lists and deletes', async () => {
  await store.write('users/alice', JSON.stringify({ age: 30 }))
  await store.write('users/bob', Buffer.from('{}'))
  const [record] = await store.read('users/alice')
  assert.deepEqual(JSON.parse(record.value.toString()), { age: 30 })
  assert.deepEqual(await store.list({ prefix: 'users/' }), ['users/alice', 'users/bob'])
  await store.delete('users/alice')
  await assert.rejects(store.read('users/alice'), (err) => err instanceof MicroError && err.code === 404)
})

test('the gateway serves the JS handler over HTTP', async () => {
  const gateway = await Gateway.start({ address: '127.0.0.1:0', registry, store, broker })
  try {
    const rsp = await fetch(`http://${gateway.address}/greeter/Greeter.Hello`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'HTTP' }),
    })
    assert.equal(rsp.status, 200)
    assert.equal((await rsp.json()).msg, 'Hello HTTP')
    const failed = await fetch(`http://${gateway.address}/greeter/Greeter.Fail`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: 404, detail: 'no such greeting' }),
    })
    // A failed call answers the handler's error object with its code as the status.
    assert.equal(failed.status, 404)
    const error = await failed.json()
    assert.equal(error.code, 404)
    assert.equal(error.detail, 'no such greeting')
  } finally {
    await gateway.stop()
  }
})

test('serveMcp lists the JS endpoint as a tool and calls it', async () => {
  const mcp = await serveMcp({ address: '127.0.0.1:0', registry, store, broker })
  try {
    const { tools } = await (await fetch(`http://${mcp.address}/mcp/tools`)).json()
    const tool = tools.find((t) => t.name.includes('Greeter') && t.name.includes('Hello'))
    assert.ok(tool, JSON.stringify(tools.map((t) => t.name)))
    assert.equal(tool.description.startsWith('Greets a person by name'), true)
    const called = await fetch(`http://${mcp.address}/mcp/call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tool: tool.name, input: { name: 'Agent' } }),
    })
    const body = await called.json()
    assert.equal(called.status, 200, JSON.stringify(body))
    assert.equal(body.result.msg, 'Hello Agent')
  } finally {
    await mcp.stop()
  }
})
