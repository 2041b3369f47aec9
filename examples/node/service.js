// A greeter service: `node service.js`, then `node client.mjs` or
// `micro call greeter Greeter.Hello '{"name":"Alice"}'`. Ctrl-C stops it cleanly.
const { Service, MicroError } = require('go-micro')

const greeter = new Service('greeter')

greeter.handle(
  'Greeter.Hello',
  async (req) => {
    if (!req.name) throw MicroError.badRequest('name is required', 'greeter')
    return { msg: `Hello ${req.name}` }
  },
  {
    description: 'Greets a person by name',
    example: { name: 'Alice' },
    requestSchema: {
      title: 'HelloRequest',
      type: 'object',
      properties: { name: { type: 'string', description: 'Who to greet' } },
      required: ['name'],
    },
    responseSchema: {
      title: 'HelloResponse',
      type: 'object',
      properties: { msg: { type: 'string' } },
    },
  },
)

// A server stream: one request, `count` replies.
greeter.stream('Greeter.Count', async function* (requests) {
  const { value: req } = await requests.next()
  for (let i = 1; i <= (req?.count ?? 3); i++) yield { n: i }
})

greeter.subscribe('greetings', (msg) => console.log('heard', msg))

greeter.run()
