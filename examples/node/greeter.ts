// The greeter in TypeScript, typed end to end; `npm run typecheck` checks it against the
// package's index.d.ts.
import { Client, Context, MicroError, Registry, Service } from 'go-micro'

interface HelloRequest {
  name: string
}

interface HelloResponse {
  msg: string
}

export function greeter(registry?: Registry): Service {
  return new Service('greeter', { registry }).handle<HelloRequest, HelloResponse>(
    'Greeter.Hello',
    async (req: HelloRequest, ctx: Context): Promise<HelloResponse> => {
      if (!req.name) throw MicroError.badRequest('name is required', ctx.service)
      return { msg: `Hello ${req.name}` }
    },
    { description: 'Greets a person by name', example: { name: 'Alice' } },
  )
}

export async function hello(client: Client, name: string): Promise<string> {
  const rsp = await client.call<HelloResponse>('greeter', 'Greeter.Hello', { name })
  return rsp.msg
}

export async function main(): Promise<void> {
  const registry = new Registry('memory')
  const service = greeter(registry)
  await service.start()
  console.log(await hello(new Client({ registry }), 'TypeScript'))
  await service.stop()
}
