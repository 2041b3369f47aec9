// Types: the TypeScript example type-checks against the package's index.d.ts, and the
// generated files (native.js and native.d.ts from napi, index.js and index.d.ts from tsc)
// are the ones committed, so API changes show in review.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const node = fileURLToPath(new URL('..', import.meta.url))
const tsc = fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url))
const example = fileURLToPath(new URL('../../examples/node/tsconfig.json', import.meta.url))

test('the TypeScript example type-checks', () => {
  const result = spawnSync(tsc, ['-p', example], { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stdout + result.stderr)
})

test('the generated bindings and types are committed as generated', () => {
  const generated = ['native.js', 'native.d.ts', 'index.js', 'index.d.ts']
  const result = spawnSync('git', ['status', '--porcelain', '--', ...generated], { cwd: node, encoding: 'utf8' })
  assert.equal(result.status, 0, result.stderr)
  assert.equal(
    result.stdout,
    '',
    'regenerated files differ from the committed ones: commit them (scripts/node.sh regenerates them)',
  )
})
