// Runs inside a network namespace (see ../interop.test.mjs), with the mDNS registry: a JS
// service called by the Rust micro CLI and by Python, and a JS client calling the Rust
// helloworld service.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Client, MicroError, Service } from '../../index.mjs'

const run = promisify(execFile)
const { MICRO_BIN: micro, HELLOWORLD_BIN: helloworld } = process.env

const greeter = new Service('js-greeter')
  .handle('Greeter.Hello', async (req) => ({ msg: `Hello ${req.name}` }), {
    description: 'Greets a person by name',
  })
  .handle('Greeter.Fail', async () => {
    throw MicroError.forbidden('only friends may fail', 'js-greeter')
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
  const stdout = await microCallWhenUp('js-greeter', 'Greeter.Hello', '{"name":"Rust"}')
  assert.deepEqual(JSON.parse(stdout), { msg: 'Hello Rust' })
})

test('the Rust client gets the JS handler’s error with its code', async () => {
  const failed = await run(micro, ['call', 'js-greeter', 'Greeter.Fail', '{}']).catch((e) => e)
  assert.equal(failed.code, 1)
  const err = JSON.parse(failed.stderr)
  assert.equal(err.code, 403)
  assert.equal(err.id, 'js-greeter')
  assert.equal(err.detail, 'only friends may fail')
})

test('micro describe shows the JS endpoint and its description', async () => {
  const { stdout } = await run(micro, ['describe', 'js-greeter'])
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

const venv = fileURLToPath(new URL('../../../python/.venv/bin/python', import.meta.url))
const python = process.env.MICRO_PYTHON ?? (existsSync(venv) ? venv : 'python3')
const hasGoMicro = spawnSync(python, ['-c', 'import go_micro']).status === 0

test('Python (go_micro) calls the JS service', { skip: !hasGoMicro && 'go_micro is not importable' }, async () => {
  const script = [
    'import go_micro',
    'print(go_micro.Client().call("js-greeter", "Greeter.Hello", {"name": "Python"})["msg"])',
  ].join('\n')
  const { stdout } = await run(python, ['-c', script])
  assert.equal(stdout.trim(), 'Hello Python')
})

/** Runs `micro call` until it answers (the service is registered), then returns its stdout. */
async function microCallWhenUp(service, endpoint, request) {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await run(micro, ['call', service, endpoint, request])).stdout
    } catch (err) {
      if (attempt >= 100) throw err
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
  }
}

/** Starts `micro run <args>` and returns a function stopping it (SIGTERM) that resolves to its output. */
function microRun(args) {
  const child = spawn(micro, ['run', '--no-gateway', '--no-watch', ...args], { env: { ...process.env, NO_COLOR: '1' } })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  return async () => {
    child.kill('SIGTERM')
    const code = await exited
    return { code, output }
  }
}

test('micro run finds the Node example (package.json depending on go-micro) and runs it', async () => {
  const example = fileURLToPath(new URL('../../../examples/node', import.meta.url))
  const stop = microRun([example])
  try {
    const stdout = await microCallWhenUp('greeter', 'Greeter.Hello', '{"name":"micro run"}')
    assert.deepEqual(JSON.parse(stdout), { msg: 'Hello micro run' })
  } finally {
    const { code, output } = await stop()
    assert.equal(code, 0, output)
    assert.match(output, /stopped/)
  }
})

test('the Node example client calls the example service', async () => {
  const example = fileURLToPath(new URL('../../../examples/node', import.meta.url))
  const service = spawn(process.execPath, ['service.js'], { cwd: example, stdio: ['ignore', 'pipe', 'pipe'] })
  let heard = ''
  service.stdout.on('data', (d) => (heard += d))
  try {
    await microCallWhenUp('greeter', 'Greeter.Hello', '{"name":"x"}')
    const { stdout } = await run(process.execPath, ['client.mjs'], { cwd: example })
    assert.deepEqual(stdout.trim().split('\n'), [
      'Hello Bob',
      'error 400: name is required',
      'count 1',
      'count 2',
      'count 3',
    ])
    for (let i = 0; i < 100 && !heard.includes('heard'); i++) await new Promise((r) => setTimeout(r, 100))
    assert.match(heard, /heard \{ from: 'client.mjs' \}/)
  } finally {
    service.kill('SIGINT')
    await new Promise((resolve) => service.on('exit', resolve))
  }
})

test('micro new --lang node writes a service that micro run starts at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'micro-new-node-'))
  try {
    await run(micro, ['new', 'shouter', '--lang', 'node', '--dir', dir, '--port', '8093'])
    const stop = microRun([join(dir, 'shouter')])
    try {
      const stdout = await microCallWhenUp('shouter', 'Shouter.Call', '{"name":"New"}')
      assert.deepEqual(JSON.parse(stdout), { msg: 'Hello New' })
      const failed = await run(micro, ['call', 'shouter', 'Shouter.Call', '{}']).catch((e) => e)
      assert.equal(JSON.parse(failed.stderr).code, 400)
    } finally {
      const { code, output } = await stop()
      assert.equal(code, 0, output)
      assert.match(output, /healthy on 127\.0\.0\.1:8093/)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
