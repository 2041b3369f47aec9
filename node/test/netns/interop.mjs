// Runs inside a network namespace (see ../interop.test.mjs), with the mDNS registry: a JS
// service called by the Rust micro CLI and by Python, and a JS client calling the Rust
// helloworld service.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { Client, MicroError, Service } from '../../index.mjs'

const run = promisify(execFile)
const { MICRO_BIN: micro, HELLOWORLD_BIN: helloworld } = process.env

const greeter = new Service('greeter')
  .handle('Greeter.Hello', async (req) => ({ msg: `Hello ${req.name}` }), {
    description: 'Greets a person by name',
  })
  .handle('Greeter.Fail', async () => {
    throw MicroError.forbidden('only friends may fail', 'greeter')
  })

let rust
before(async () => {
  await greeter.start()
  rust = spawn(helloworld, [], { env: { ...process.env, MICRO_LOG: 'warn' }, stdio: 'inherit' })
})

after(async () => {
  rust.kill('SIGTERM')
  await greeter.stop()
})

/** Calls until the service is registered (mDNS answers arrive after start), then returns the answer. */
async function callWhenUp(client, service, endpoint, request) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.call(service, endpoint, request, { timeout: 5000 })
    } catch (err) {
      if (attempt >= 50 || !(err instanceof MicroError) || err.id !== 'go.micro.client') throw err
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

test('the Rust client (micro call) calls the JS service', async () => {
  const { stdout } = await run(micro, ['call', 'greeter', 'Greeter.Hello', '{"name":"Rust"}'])
  assert.deepEqual(JSON.parse(stdout), { msg: 'Hello Rust' })
})

test('the Rust client gets the JS handler’s error with its code', async () => {
  const failed = await run(micro, ['call', 'greeter', 'Greeter.Fail', '{}']).catch((e) => e)
  assert.equal(failed.code, 1)
  const err = JSON.parse(failed.stderr)
  assert.equal(err.code, 403)
  assert.equal(err.id, 'greeter')
  assert.equal(err.detail, 'only friends may fail')
})

test('micro describe shows the JS endpoint and its description', async () => {
  const { stdout } = await run(micro, ['describe', 'greeter'])
  assert.match(stdout, /Greeter\.Hello/)
  assert.match(stdout, /Greets a person by name/)
})

test('the JS client calls the Rust helloworld, unary and stream', async () => {
  const client = new Client()
  assert.deepEqual(await callWhenUp(client, 'helloworld', 'Helloworld.Call', { name: 'Node' }), {
    msg: 'Hello Node',
  })
  const replies = []
  for await (const reply of await client.stream('helloworld', 'Helloworld.Stream', { name: 'Node', count: 2 })) {
    replies.push(reply.msg)
  }
  assert.deepEqual(replies, ['Hello Node 1', 'Hello Node 2'])
})

const python = process.env.MICRO_PYTHON ?? 'python3'
const hasGoMicro = spawnSync(python, ['-c', 'import go_micro']).status === 0

test('Python (go_micro) calls the JS service', { skip: !hasGoMicro && 'go_micro is not importable' }, async () => {
  const script = [
    'import asyncio, go_micro',
    'async def main():',
    '    print((await go_micro.Client().call("greeter", "Greeter.Hello", {"name": "Python"}))["msg"])',
    'asyncio.run(main())',
  ].join('\n')
  const { stdout } = await run(python, ['-c', script])
  assert.equal(stdout.trim(), 'Hello Python')
})
