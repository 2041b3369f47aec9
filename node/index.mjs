// The ES module face of go-micro: the same classes as the CommonJS index.js.
import micro from './index.js'

export const {
  Broker,
  Client,
  Gateway,
  HttpServer,
  MicroError,
  Registry,
  Service,
  Store,
  Stream,
  Subscription,
  serveMcp,
} = micro
export default micro
