// The process's life: a script that stops its service exits by itself (JS handlers do not
// keep Node alive), and run() serves until SIGINT, then stops cleanly.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const fixture = (name) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url))

/** Runs `node script`, collecting its output; `onStderr` sees each stderr chunk. */
function run(script, onStderr = () => {}) {
  const child = spawn(process.execPath, [script], { env: { ...process.env, MICRO_REGISTRY: 'memory' } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => {
    stderr += d
    onStderr(stderr, child)
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(killer)
      resolve({ code, signal, stdout, stderr })
    }),
  )
  return exited
}

test('a script that starts, calls and stops its service exits by itself', async () => {
  const { code, signal, stdout, stderr } = await run(fixture('stops.mjs'))
  assert.equal(signal, null, `killed: it did not exit by itself\n${stderr}`)
  assert.equal(code, 0, stderr)
  assert.equal(stdout.trim(), 'Hello exit')
})

test('run() serves until SIGINT, then stops the service and returns', async () => {
  let signalled = false
  const { code, signal, stdout, stderr } = await run(fixture('runs.mjs'), (err, child) => {
    if (!signalled && /serving on/.test(err)) {
      signalled = true
      child.kill('SIGINT')
    }
  })
  assert.ok(signalled, stderr)
  assert.equal(signal, null, stderr)
  assert.equal(code, 0, stderr)
  assert.equal(stdout.trim(), 'stopped')
})
