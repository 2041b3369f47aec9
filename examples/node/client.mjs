// Calls the greeter (run `node service.js` first): a call, an error, a stream and a message.
import { Client, MicroError } from 'go-micro'

const client = new Client()

const rsp = await client.call('greeter', 'Greeter.Hello', { name: 'Bob' }, { timeout: 5000 })
console.log(rsp.msg)

try {
  await client.call('greeter', 'Greeter.Hello', {})
} catch (err) {
  if (!(err instanceof MicroError)) throw err
  console.log(`error ${err.code}: ${err.detail}`)
}

for await (const { n } of await client.stream('greeter', 'Greeter.Count', { count: 3 })) {
  console.log('count', n)
}

await client.publish('greetings', { from: 'client.mjs' })
