// Models and agents from JS: against a scripted provider speaking OpenAI's wire format on
// loopback (fixtures/provider.mjs: answers whole and as server-sent events, tool calls
// included), the tool loop with sync and async JS tool handlers and with a service's endpoint
// as the tool; errors as MicroErrors; a real streamed answer from SmolLM2-135M-Instruct
// (scripts/servers.sh llm); and the AI examples (patterns 3, 4 and 5) against the script.
import { afterEach, beforeEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Agent, Broker, Client, MicroError, Model, Registry, Service, Store } from '../index.mjs'
import { Provider, USAGE } from './fixtures/provider.mjs'

const KEY = 'sk-test-5ecret'
const examples = fileURLToPath(new URL('../../examples/node/', import.meta.url))
const example = createRequire(examples)
const add = {
  name: 'add',
  description: 'Adds a and b.',
  parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } } },
}

let provider
beforeEach(async () => {
  provider = await Provider.start()
})
afterEach(() => provider.close())

/** The settings pointing a model at the scripted provider, as options and as the environment. */
const settings = () => ({ provider: 'openai', model: 'test-model', apiKey: KEY, baseUrl: provider.url })
const aiEnv = () => ({
  MICRO_AI_PROVIDER: 'openai',
  MICRO_AI_MODEL: 'test-model',
  MICRO_AI_API_KEY: KEY,
  MICRO_AI_BASE_URL: provider.url,
})

/** Every event of a stream. */
async function all(events) {
  const seen = []
  for await (const event of events) seen.push(event)
  return seen
}

/** The text pieces among `events`. */
const texts = (events) => events.filter((e) => e.type === 'text').map((e) => e.text)

test('a model answers whole and streamed, with settings from the environment', async () => {
  const saved = { ...process.env }
  Object.assign(process.env, aiEnv())
  let model
  try {
    model = new Model()
  } finally {
    for (const name of Object.keys(aiEnv())) {
      if (saved[name] === undefined) delete process.env[name]
      else process.env[name] = saved[name]
    }
  }
  assert.equal(model.provider, 'openai')
  assert.equal(model.name, 'test-model')

  provider.reply('Hello from the model.')
  const answer = await model.generate('Say hello', { system: 'Be brief.' })
  assert.equal(answer.text, 'Hello from the model.')
  assert.deepEqual(answer.usage, { input_tokens: USAGE.prompt_tokens, output_tokens: USAGE.completion_tokens })
  assert.deepEqual(
    answer.messages.map((m) => m.role),
    ['user', 'assistant'],
  )
  const [seen] = provider.seen
  assert.equal(seen.path, '/v1/chat/completions')
  assert.equal(seen.headers.authorization, `Bearer ${KEY}`)
  assert.equal(seen.body.model, 'test-model')
  assert.deepEqual(seen.body.messages[0], { role: 'system', content: 'Be brief.' })

  provider.reply('One two three four five.')
  const events = await all(model.stream('Count', { messages: answer.messages }))
  const pieces = texts(events)
  assert.ok(pieces.length > 1, `one piece: ${pieces}`)
  assert.equal(pieces.join(''), 'One two three four five.')
  assert.equal(events.at(-1).type, 'done')
  assert.equal(events.at(-1).response.text, 'One two three four five.')
  assert.equal(provider.seen[1].body.stream, true)
  assert.deepEqual(
    provider.seen[1].body.messages.map((m) => m.content),
    ['Say hello', 'Hello from the model.', 'Count'],
  )
})

test('a model returns the tool calls it asks for, unrun', async () => {
  const model = new Model(settings())
  provider.reply('', ['add', { a: 2, b: 3 }])
  const answer = await model.generate('What is 2+3?', { tools: [add] })
  assert.deepEqual(answer.tool_calls, [{ id: 'call_0', name: 'add', arguments: { a: 2, b: 3 } }])
  const [offered] = provider.seen[0].body.tools
  assert.equal(offered.type, 'function')
  assert.deepEqual({ ...offered.function, strict: undefined }, { ...add, strict: undefined })

  provider.reply('', ['add', { a: 4, b: 5 }])
  const events = await all(model.stream('What is 4+5?', { tools: [add] }))
  assert.deepEqual(events[0], { type: 'tool_call', call: { id: 'call_0', name: 'add', arguments: { a: 4, b: 5 } } })
  assert.equal(events.at(-1).type, 'done')
})

test('an agent runs a JS tool handler, sync or async, and gives the model its result', async () => {
  const seen = []
  const sum = (call) => {
    seen.push(call.arguments)
    return { sum: call.arguments.a + call.arguments.b }
  }
  const agent = new Agent(new Model(settings()), { tools: [add], handler: sum })
  provider.reply('', ['add', { a: 2, b: 3 }])
  provider.reply('The sum is 5.')
  const answer = await agent.generate('What is 2+3?')
  assert.deepEqual(seen, [{ a: 2, b: 3 }])
  assert.equal(answer.text, 'The sum is 5.')
  assert.deepEqual(answer.tool_calls[0].result, { sum: 5 })
  assert.equal(answer.usage.output_tokens, 2 * USAGE.completion_tokens)
  assert.deepEqual(
    answer.messages.map((m) => m.role),
    ['user', 'assistant', 'tool', 'assistant'],
  )
  assert.deepEqual(provider.toolResults(1), { call_0: { sum: 5 } })

  const later = new Agent(new Model(settings()), {
    tools: [add],
    handler: async (call) => {
      await new Promise((resolve) => setTimeout(resolve, 10))
      return sum(call)
    },
  })
  provider.reply('', ['add', { a: 1, b: 1 }])
  provider.reply('Two.')
  const events = await all(later.stream('What is 1+1?'))
  assert.deepEqual(
    events.slice(0, 2).map((e) => e.type),
    ['tool_call', 'tool_result'],
  )
  assert.deepEqual(events[1].call.result, { sum: 2 })
  assert.equal(texts(events).join(''), 'Two.')
  assert.equal(events.at(-1).type, 'done')
  assert.deepEqual(provider.toolResults(3), { call_0: { sum: 2 } })
})

test('a handler that throws tells the model the error', async () => {
  const spec = { name: 'lookup', parameters: { type: 'object' } }
  const agent = new Agent(new Model(settings()), {
    tools: [spec],
    handler: (call) => {
      throw new TypeError(`no city called ${call.arguments.city}`)
    },
  })
  provider.reply('', ['lookup', { city: 'Atlantis' }])
  provider.reply('I could not find it.')
  const answer = await agent.generate('Where is Atlantis?')
  assert.equal(answer.text, 'I could not find it.')
  assert.equal(answer.tool_calls[0].error, 'no city called Atlantis')
  assert.deepEqual(provider.toolResults(1), { call_0: { error: 'no city called Atlantis' } })

  const refusing = new Agent(new Model(settings()), {
    tools: [spec],
    handler: async () => {
      throw MicroError.forbidden('not for you')
    },
  })
  provider.reply('', ['lookup', { city: 'Rome' }])
  provider.reply('Refused.')
  assert.equal((await refusing.generate('Where is Rome?')).tool_calls[0].error, 'not for you')
})

test('a service answers the tool call a model makes through the registry', async () => {
  const registry = new Registry('memory')
  const broker = new Broker('memory')
  const added = []
  const calc = new Service('calc', { registry, broker }).handle(
    'Calc.Add',
    async (req) => {
      added.push(req)
      return { sum: req.a + req.b }
    },
    {
      description: 'Adds a and b.',
      requestSchema: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } } },
    },
  )
  await calc.start()
  try {
    const agent = new Agent(new Model(settings()), { registry, broker, store: new Store('memory') })
    provider.reply('', ['calc_Calc_Add', { a: 20, b: 22 }])
    provider.reply('It is 42.')
    const answer = await agent.generate('What is 20+22?')
    assert.deepEqual(added, [{ a: 20, b: 22 }])
    assert.equal(answer.text, 'It is 42.')
    assert.deepEqual(answer.tool_calls[0].result, { sum: 42 })
    const offered = Object.fromEntries(provider.seen[0].body.tools.map((t) => [t.function.name, t.function]))
    assert.equal(offered.calc_Calc_Add.description, 'Adds a and b.')
    assert.deepEqual(offered.calc_Calc_Add.parameters.properties.a, { type: 'integer' })
    assert.deepEqual(provider.toolResults(1), { call_0: { sum: 42 } })
  } finally {
    await calc.stop()
  }
})

test('failures are MicroErrors that say what to do', async () => {
  assert.throws(
    () => new Model({ provider: 'nope' }),
    (err) => err instanceof MicroError && err.code === 400 && /unknown AI provider "nope"/.test(err.detail),
  )
  const keys = { MICRO_AI_API_KEY: process.env.MICRO_AI_API_KEY, MISTRAL_API_KEY: process.env.MISTRAL_API_KEY }
  delete process.env.MICRO_AI_API_KEY
  delete process.env.MISTRAL_API_KEY
  try {
    assert.throws(
      () => new Model({ provider: 'mistral' }),
      (err) => err instanceof MicroError && err.kind === 'bad_request' && /MISTRAL_API_KEY/.test(err.detail),
    )
  } finally {
    for (const [name, value] of Object.entries(keys)) if (value !== undefined) process.env[name] = value
  }
  const model = new Model(settings())
  assert.throws(
    () => new Agent(model, { tools: [add] }),
    (err) => err instanceof MicroError && /handler/.test(err.detail),
  )
  const failed = await model.generate('Nothing scripted').catch((e) => e)
  assert.ok(failed instanceof MicroError, `${failed}`)
  assert.equal(failed.code, 500)
  assert.match(failed.detail, /the script has ended/)
  assert.doesNotMatch(failed.detail, new RegExp(KEY))
  const streamed = await all(model.stream('Nothing scripted')).catch((e) => e)
  assert.ok(streamed instanceof MicroError && /the script has ended/.test(streamed.detail), `${streamed}`)

  const looping = new Agent(model, { tools: [add], handler: () => ({ sum: 2 }), maxSteps: 2 })
  provider.reply('', ['add', { a: 1, b: 1 }])
  provider.reply('', ['add', { a: 1, b: 1 }])
  const stopped = await looping.generate('Loop').catch((e) => e)
  assert.ok(stopped instanceof MicroError && stopped.code === 400 && /2 times/.test(stopped.detail), `${stopped}`)
})

test('SmolLM2 streams a real answer in pieces', async () => {
  const script = fileURLToPath(new URL('../../scripts/servers.sh', import.meta.url))
  const env = { ...process.env, MICRO_SERVERS_DIR: mkdtempSync(join(tmpdir(), 'libmicro-servers-node-ai-')) }
  const servers = (...args) => execFileSync(script, args, { env, encoding: 'utf8' }).trim()
  servers('start', 'llm')
  let events
  try {
    const baseUrl = servers('url', 'llm')
    const model = new Model({ provider: 'openai', model: 'SmolLM2-135M-Instruct', apiKey: 'none', baseUrl })
    events = await all(model.stream('Name three colours.', { system: 'Answer in one short sentence.' }))
  } finally {
    servers('stop')
  }
  const pieces = texts(events)
  assert.ok(pieces.length > 3, `${pieces}`)
  assert.equal(events.at(-1).type, 'done')
  assert.equal(events.at(-1).response.text, pieces.join(''))
  assert.ok(pieces.join('').trim())
})

test('the service example (pattern 3) asks the model in its handler', async () => {
  const registry = new Registry('memory')
  const broker = new Broker('memory')
  const service = example('./ai-service.js').assistant(new Model(settings()), { registry, broker })
  await service.start()
  try {
    provider.reply('A mesh of sidecars.')
    const answer = await new Client({ registry, broker }).call('assistant', 'Assistant.Ask', {
      question: 'What is a service mesh?',
    })
    assert.deepEqual(answer, { answer: 'A mesh of sidecars.' })
    const { messages } = provider.seen[0].body
    assert.equal(messages[0].role, 'system')
    assert.equal(messages.at(-1).content, 'What is a service mesh?')
  } finally {
    await service.stop()
  }
})

test('the tool example (pattern 4) runs its handler for the model', async () => {
  provider.reply('', ['get_weather', { city: 'Rome' }])
  provider.reply('It is sunny and 21 degrees in Rome.')
  const { stdout } = await promisify(execFile)(process.execPath, [join(examples, 'ai-tools.js'), 'Is it warm in Rome?'], {
    env: { ...process.env, ...aiEnv() },
    timeout: 60_000,
  })
  assert.match(stdout, /\[get_weather\(\{"city":"Rome"\}\) -> \{"city":"Rome","sky":"sunny","celsius":21\}\]/)
  assert.match(stdout, /It is sunny and 21 degrees in Rome\./)
  assert.equal(provider.seen[0].body.messages.at(-1).content, 'Is it warm in Rome?')
  assert.deepEqual(provider.toolResults(1), { call_0: { city: 'Rome', sky: 'sunny', celsius: 21 } })
})

test('the event example (pattern 5) runs the model on each message, and the model calls a service', async () => {
  const registry = new Registry('memory')
  const broker = new Broker('memory')
  const sent = []
  const mailer = new Service('mailer', { registry, broker }).handle(
    'Mailer.Send',
    async (req) => {
      sent.push(req)
      return { sent: true }
    },
    { description: 'Sends an email: to, subject.' },
  )
  const agent = new Agent(new Model(settings()), { registry, broker, store: new Store('memory') })
  const onboarding = example('./ai-events.js').onboarding(agent, { registry, broker })
  const logged = []
  const log = console.log
  console.log = (line) => logged.push(line)
  await mailer.start()
  await onboarding.start()
  try {
    provider.reply('', ['mailer_Mailer_Send', { to: 'ada@example.com', subject: 'Welcome' }])
    provider.reply('Welcomed Ada.')
    await new Client({ registry, broker }).publish('signups', { name: 'Ada', email: 'ada@example.com' })
    const deadline = Date.now() + 10_000
    while (!logged.includes('signups: Welcomed Ada.') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  } finally {
    console.log = log
    await onboarding.stop()
    await mailer.stop()
  }
  assert.deepEqual(sent, [{ to: 'ada@example.com', subject: 'Welcome' }])
  assert.ok(logged.includes('signups: Welcomed Ada.'), logged.join('\n'))
  assert.ok(provider.seen[0].body.messages.at(-1).content.includes(JSON.stringify({ name: 'Ada', email: 'ada@example.com' })))
})
