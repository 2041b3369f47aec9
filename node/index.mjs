// The ES module face of go-micro: the same classes as the CommonJS index.js.
import micro from './index.js'

export const {
  Agent,
  Broker,
  Client,
  Events,
  Gateway,
  HttpServer,
  MicroError,
  Model,
  Registry,
  Service,
  Store,
  Stream,
  Subscription,
  serveMcp,
} = micro
export default micro
