// Across processes and languages, found through mDNS: the suite in netns/interop.mjs runs in
// a network namespace this test creates (multicast on its loopback only), where a JS service
// is called by the Rust `micro call` (and Python's go_micro when importable) and a JS client
// calls the Rust helloworld. Needs the micro and helloworld binaries (scripts/node.sh builds
// them); without them the test is skipped, unless MICRO_NODE_INTEROP_REQUIRED=1.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { homedir } from 'node:os'
import { fileURLToPath } from 'node:url'

const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/libmicro/target')
const binaries = {
  MICRO_BIN: process.env.MICRO_BIN ?? join(target, 'debug/micro'),
  HELLOWORLD_BIN: process.env.HELLOWORLD_BIN ?? join(target, 'debug/helloworld'),
}
const missing = Object.values(binaries).filter((path) => !existsSync(path))
const required = process.env.MICRO_NODE_INTEROP_REQUIRED === '1'
const suite = fileURLToPath(new URL('netns/interop.mjs', import.meta.url))

test('JS, Rust and Python services and clients call each other over mDNS', { skip: !required && missing.length > 0 && `missing ${missing.join(', ')}` }, () => {
  assert.deepEqual(missing, [], 'build them with: cargo build -p micro-cli -p helloworld')
  const netns = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" --test --test-reporter=spec "$1"'
  // A fresh test run, not one reporting to ours.
  const { NODE_TEST_CONTEXT, ...env } = process.env
  const result = spawnSync('unshare', ['-n', 'sh', '-c', netns, process.execPath, suite], {
    env: { ...env, ...binaries },
    encoding: 'utf8',
    timeout: 180_000,
  })
  const output = `${result.stdout}\n${result.stderr}`
  assert.equal(result.error, undefined, `${result.error}`)
  assert.equal(result.status, 0, output)
  assert.match(output, /ℹ fail 0/)
})
