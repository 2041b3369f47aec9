// The package from CommonJS: require('go-micro') gives the same classes, and they work.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const micro = require('..')

test('require() gives the package, and a service answers a client through it', async () => {
  const { Client, MicroError, Registry, Service } = micro
  const registry = new Registry('memory')
  const svc = new Service('cjs', { registry }).handle('Cjs.Upper', async (req) => {
    if (typeof req.text !== 'string') throw MicroError.badRequest('text must be a string', 'cjs')
    return { text: req.text.toUpperCase() }
  })
  await svc.start()
  try {
    const client = new Client({ registry })
    assert.deepEqual(await client.call('cjs', 'Cjs.Upper', { text: 'shout' }), { text: 'SHOUT' })
    const err = await client.call('cjs', 'Cjs.Upper', { text: 1 }).catch((e) => e)
    assert.ok(err instanceof MicroError)
    assert.equal(err.code, 400)
  } finally {
    await svc.stop()
  }
})

test('the ES module and CommonJS faces export the same classes', async () => {
  const esm = await import('../index.mjs')
  for (const name of ['Service', 'Client', 'Registry', 'Store', 'Broker', 'Gateway', 'MicroError', 'serveMcp']) {
    assert.equal(esm[name], micro[name], name)
  }
})
