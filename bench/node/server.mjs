// The helloworld handler in JS, served as `node-helloworld` (Helloworld.Call), for the Rust
// load client to call: the other side of the Rust helloworld in bench/node/run.sh.
import { Service } from '../../node/index.mjs'

await new Service('node-helloworld')
  .handle('Helloworld.Call', async (req) => ({ msg: `Hello ${req.name}` }))
  .run()
