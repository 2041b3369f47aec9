/**
 * go-micro for Node.js: services, clients, pub/sub, streams, the registry, store and broker,
 * and the HTTP gateway and MCP server, all running on the libmicro engine in this process.
 * It speaks go-micro v5's protocols, so Node services join Go, Rust and Python ones.
 *
 * ```js
 * const { Service } = require('go-micro')
 * const svc = new Service('greeter')
 * svc.handle('Greeter.Hello', async (req) => ({ msg: `Hello ${req.name}` }))
 * svc.run()
 * ```
 *
 * This file is the JS face over the native addon (`native.js`): it encodes and decodes JSON,
 * turns engine errors into `MicroError`, makes streams async iterators and keeps Node alive
 * exactly while something serves.
 *
 * @packageDocumentation
 */
import * as native from './native.js'

/** HTTP status texts for the codes go-micro uses. */
const STATUS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/**
 * What sort of failure an error is, as the engine names it. One code can cover two kinds: a
 * 404 from the service is `not_found`, a 404 because no node of the service is known is
 * `no_service`.
 */
export type Kind =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'no_service'
  | 'timeout'
  | 'conflict'
  | 'lagged'
  | 'too_many'
  | 'internal'
  | 'unavailable'

/** The kind of a code read from the wire, as the engine reads it. */
function kindOf(code: number): Kind {
  switch (code) {
    case 401:
      return 'unauthorized'
    case 403:
      return 'forbidden'
    case 404:
      return 'not_found'
    case 408:
      return 'timeout'
    case 409:
      return 'conflict'
    case 429:
      return 'too_many'
    case 502:
    case 503:
    case 504:
      return 'unavailable'
    default:
      return code >= 400 && code < 500 ? 'bad_request' : 'internal'
  }
}

/** An error as go-micro carries it: who raised it (`id`), an HTTP-like `code` and a `detail`. */
export class MicroError extends Error {
  /** Who raised the error, e.g. `go.micro.client` or a service name. */
  readonly id: string
  /** An HTTP status code: 400, 401, 403, 404, 408, 500, ... */
  readonly code: number
  /** What went wrong. */
  readonly detail: string
  /** The HTTP status text for `code`, e.g. `Not Found`. */
  readonly status: string
  /** What sort of failure this is (not on the wire); from `code` unless the engine said. */
  readonly kind: Kind

  /**
   * An error with `detail`, `code` (default 500) and `id` (default: the service raising it);
   * `status` and `kind` follow from the code unless given.
   */
  constructor(detail: string, code = 500, id = '', status?: string, kind?: Kind) {
    super(detail)
    this.name = 'MicroError'
    this.id = id
    this.code = code
    this.detail = detail
    this.status = status ?? STATUS[code] ?? ''
    this.kind = kind ?? kindOf(code)
  }

  /** 400: the caller sent something wrong. */
  static badRequest(detail: string, id = ''): MicroError {
    return new MicroError(detail, 400, id)
  }

  /** 401: the caller is not authenticated. */
  static unauthorized(detail: string, id = ''): MicroError {
    return new MicroError(detail, 401, id)
  }

  /** 403: the caller may not do this. */
  static forbidden(detail: string, id = ''): MicroError {
    return new MicroError(detail, 403, id)
  }

  /** 404: the thing asked for does not exist. */
  static notFound(detail: string, id = ''): MicroError {
    return new MicroError(detail, 404, id)
  }

  /** 500: something failed inside. */
  static internal(detail: string, id = ''): MicroError {
    return new MicroError(detail, 500, id)
  }

  /** go-micro's error JSON fields. */
  toJSON(): { id: string; code: number; detail: string; status: string } {
    return { id: this.id, code: this.code, detail: this.detail, status: this.status }
  }
}

/** The native addon's error (go-micro's error JSON as its message) as a `MicroError`. */
function fromNative(err: unknown): unknown {
  if (!(err instanceof Error) || !err.message.startsWith('{')) return err
  try {
    const e = JSON.parse(err.message)
    if (typeof e.code === 'number' || typeof e.detail === 'string') {
      return new MicroError(e.detail ?? '', e.code || 500, e.id ?? '', e.status, e.kind)
    }
  } catch {
    // not go-micro's error JSON: the error stays as it is
  }
  return err
}

/** Awaits a native promise, rejecting with a `MicroError` for engine errors. */
async function settle<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise
  } catch (err) {
    throw fromNative(err)
  }
}

/** Runs a native call, throwing a `MicroError` for engine errors. */
function now<T>(call: () => T): T {
  try {
    return call()
  } catch (err) {
    throw fromNative(err)
  }
}

/** JSON text from a request or message: `{}` when empty, a 400 when not JSON. */
function decode(text: string, what: string): unknown {
  if (text === '') return {}
  try {
    return JSON.parse(text)
  } catch (err) {
    throw MicroError.badRequest(`${what} is not JSON: ${(err as Error).message}`)
  }
}

/** A value as JSON text; `undefined` is `{}`. */
function encode(value: unknown): string {
  return JSON.stringify(value === undefined ? {} : value)
}

/** A thrown value as go-micro's error JSON: its `code` when it has an HTTP-like one, else 500. */
function errorJson(err: unknown, id: string): string {
  const e = err as { id?: unknown; code?: unknown; detail?: unknown; message?: unknown }
  const code =
    typeof e?.code === 'number' && Number.isInteger(e.code) && e.code >= 100 && e.code < 600
      ? e.code
      : 500
  const detail =
    typeof e?.detail === 'string' ? e.detail : typeof e?.message === 'string' ? e.message : String(err)
  const raisedBy = typeof e?.id === 'string' && e.id !== '' ? e.id : id
  return JSON.stringify({ id: raisedBy, code, detail, status: STATUS[code] ?? '' })
}

/** Throws a clear error unless `handler` is a function. */
function needFunction(handler: unknown, what: string): void {
  if (typeof handler !== 'function') {
    throw new TypeError(`${what} must be a function (an async function, usually), got ${typeof handler}`)
  }
}

/** Handles that keep Node alive: one timer while anything serves or listens. */
const keepAlive = {
  count: 0,
  timer: undefined as ReturnType<typeof setInterval> | undefined,
  hold(): void {
    if (this.count++ === 0) this.timer = setInterval(() => {}, 1 << 30)
  },
  release(): void {
    if (--this.count === 0) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  },
}

/** Who is calling: the service and endpoint called and the caller's metadata (headers). */
export interface Context {
  /** The service called. */
  service: string
  /** `Handler.Method`. */
  endpoint: string
  /** The caller's metadata, as headers. */
  metadata: Record<string, string>
}

/** A unary handler: the decoded request in, the response (any JSON value) out. */
export type Handler<Req = any, Rsp = any> = (request: Req, ctx: Context) => Rsp | Promise<Rsp>

/**
 * A stream handler: gets the caller's messages as an async iterator and yields the messages
 * to send back. For a server stream, take the one request with `(await requests.next()).value`.
 */
export type StreamHandler<Req = any, Rsp = any> = (
  requests: AsyncIterableIterator<Req>,
  ctx: Context,
) => AsyncIterable<Rsp> | Iterable<Rsp>

/** A message handler: the decoded message (JSON, else its text) and where it came from. */
export type MessageHandler<Msg = any> = (
  message: Msg,
  event: { topic: string; header: Record<string, string> },
) => void | Promise<void>

/** What is published about an endpoint, for `micro describe`, the gateway and MCP. */
export interface EndpointOptions {
  /** What the endpoint does. */
  description?: string
  /** An example request (a value, or JSON text). */
  example?: unknown
  /** The request's JSON Schema (an object schema). */
  requestSchema?: object
  /** The request type's name in the registry (default: the schema's `title`, else `Request`). */
  requestType?: string
  /** The response's JSON Schema (an object schema). */
  responseSchema?: object
  /** The response type's name in the registry (default: the schema's `title`, else `Response`). */
  responseType?: string
  /** The scopes a caller's token needs. */
  scopes?: string[]
  /** More endpoint metadata (for example `mcp_name`). */
  metadata?: Record<string, string>
}

/** The native form of endpoint options. */
function endpointDoc(options: EndpointOptions | undefined): native.EndpointDoc | undefined {
  if (!options) return undefined
  const { example, requestSchema, responseSchema } = options
  return {
    description: options.description,
    example: example === undefined || typeof example === 'string' ? example : JSON.stringify(example),
    requestSchema: requestSchema && JSON.stringify(requestSchema),
    requestType: options.requestType,
    responseSchema: responseSchema && JSON.stringify(responseSchema),
    responseType: options.responseType,
    scopes: options.scopes,
    metadata: options.metadata,
  }
}

/**
 * A service registry: `mdns` (default, across processes), `memory` (this process only), or
 * `etcd` and `nats` (across hosts, shared with go-micro services).
 */
export class Registry {
  /** @internal */
  readonly native: native.Registry

  /**
   * The registry named `kind`; `MICRO_REGISTRY` (default `mdns`) when omitted. `address` is
   * where it is, for registries that need one (etcd: `host:port`, nats: `nats://host:4222`;
   * default `MICRO_REGISTRY_ADDRESS`).
   */
  constructor(kind?: 'mdns' | 'memory' | 'etcd' | 'nats', address?: string) {
    this.native = now(() => new native.Registry(kind, address))
  }

  /** The registry's kind. */
  get kind(): string {
    return this.native.kind
  }

  /** Every registered service. */
  async listServices(): Promise<RegisteredService[]> {
    return JSON.parse(await settle(this.native.listServices()))
  }

  /** Every registered version of the service `name`; rejects with a 404 when none is. */
  async getService(name: string): Promise<RegisteredService[]> {
    return JSON.parse(await settle(this.native.getService(name)))
  }

  /**
   * Registers a service running elsewhere (a `Service` registers itself), in the shape
   * `getService` gives, expiring after `ttl` milliseconds when given.
   */
  async register(service: RegisteredService, options: { ttl?: number } = {}): Promise<void> {
    return settle(this.native.register(JSON.stringify(service), options.ttl))
  }

  /** Removes the nodes of `service` (shaped as for `register`) from the registry. */
  async deregister(service: RegisteredService): Promise<void> {
    return settle(this.native.deregister(JSON.stringify(service)))
  }
}

/** A service as the registry knows it. */
export interface RegisteredService {
  /** The service name. */
  name: string
  /** Its version. */
  version: string
  /** Service metadata. */
  metadata?: Record<string, string>
  /** The endpoints it serves, with their types and metadata (`description`, `request_schema`...). */
  endpoints?: { name: string; request?: unknown; response?: unknown; metadata?: Record<string, string> }[]
  /** Its running instances. */
  nodes?: { id: string; address: string; metadata?: Record<string, string> }[]
}

/** One stored record. */
export interface StoreRecord {
  /** The key. */
  key: string
  /** The value. */
  value: Buffer
}

/**
 * A key-value store: `file` (default, embedded, durable), `memory`, or `mysql`, `postgres`,
 * `redis` and `nats` on their servers (`options.address` is the server's URL).
 */
export class Store {
  /** @internal */
  readonly native: native.Store

  /** The store named `kind`; `MICRO_STORE` (default `file`) when omitted. */
  constructor(kind?: 'file' | 'memory' | 'mysql' | 'postgres' | 'redis' | 'nats', options?: native.StoreOptions) {
    this.native = now(() => new native.Store(kind, options))
  }

  /** The records at `key`, or with `prefix` every record whose key starts with it; a missing key rejects with a 404. */
  async read(key: string, options: { prefix?: boolean } = {}): Promise<StoreRecord[]> {
    return settle(this.native.read(key, options.prefix))
  }

  /** Writes `value` (text or bytes) at `key`, expiring after `ttl` milliseconds when given. */
  async write(key: string, value: string | Uint8Array, options: { ttl?: number } = {}): Promise<void> {
    return settle(this.native.write(key, Buffer.from(value), options.ttl))
  }

  /** Deletes the record at `key`. */
  async delete(key: string): Promise<void> {
    return settle(this.native.delete(key))
  }

  /** The keys, in order; only those starting with `prefix` when given. */
  async list(options: { prefix?: string } = {}): Promise<string[]> {
    return settle(this.native.list(options.prefix))
  }
}

/** A subscription to a topic; `unsubscribe` ends it. */
export class Subscription {
  #native: native.Subscription | undefined

  /** @internal */
  constructor(subscription: native.Subscription) {
    this.#native = subscription
    keepAlive.hold()
  }

  /** Stops delivery; unsubscribing twice does nothing. */
  async unsubscribe(): Promise<void> {
    const subscription = this.#native
    if (!subscription) return
    this.#native = undefined
    keepAlive.release()
    await settle(subscription.unsubscribe())
  }
}

/** The native form of a message handler. */
function subscriber(handler: MessageHandler): (event: native.Event) => Promise<native.Reply> {
  needFunction(handler, 'a message handler')
  return async (event) => {
    try {
      let message: unknown = event.body
      try {
        message = JSON.parse(event.body)
      } catch {
        // not JSON: the handler gets the text
      }
      await handler(message, { topic: event.topic, header: event.header })
      return {}
    } catch (err) {
      return { error: errorJson(err, event.topic) }
    }
  }
}

/** A message broker: `http` (default, go-micro compatible), `rabbitmq` (go-micro's RabbitMQ broker) or `memory` (this process only). */
export class Broker {
  /** @internal */
  readonly native: native.Broker

  /**
   * The broker named `kind`; `MICRO_BROKER` (default `http`) when omitted. The `http` broker
   * finds subscribers through `registry`. `address` is `MICRO_BROKER_ADDRESS`: the HTTP
   * broker's listen address, NATS's (`nats://host:4222`, `?jetstream=true` for at-least-once
   * delivery) or RabbitMQ's URL (`amqp://user:password@host:5672/vhost`).
   */
  constructor(
    kind?: 'http' | 'memory' | 'nats' | 'rabbitmq',
    options: { registry?: Registry; address?: string } = {},
  ) {
    this.native = now(() => new native.Broker(kind, options.registry?.native, options.address))
  }

  /** The broker's kind. */
  get kind(): string {
    return this.native.kind
  }

  /** Publishes `message` (JSON-encoded unless text or bytes) on `topic`. */
  async publish(topic: string, message: unknown, options: { header?: Record<string, string> } = {}): Promise<void> {
    const body =
      typeof message === 'string' || message instanceof Uint8Array ? Buffer.from(message) : Buffer.from(encode(message))
    return settle(this.native.publish(topic, body, options.header))
  }

  /** Calls `handler` for each message on `topic`; subscribers sharing a `queue` share the messages. */
  async subscribe(topic: string, handler: MessageHandler, options: { queue?: string } = {}): Promise<Subscription> {
    const subscription = await settle(this.native.subscribe(topic, subscriber(handler), options.queue))
    return new Subscription(subscription)
  }
}

/** How a service is published and which components it uses. */
export interface ServiceOptions {
  /** The version published in the registry (default `latest`). */
  version?: string
  /** The listen address, `host:port` (default `MICRO_SERVER_ADDRESS`, else `127.0.0.1:0`). */
  address?: string
  /** Service metadata published in the registry. */
  metadata?: Record<string, string>
  /** The registry to register with (default: `MICRO_REGISTRY`, mdns). */
  registry?: Registry
  /** The broker subscribers listen on (default: `MICRO_BROKER`, http). */
  broker?: Broker
  /** The store the service uses (default: `MICRO_STORE`, file). */
  store?: Store
}

/**
 * A service: add endpoints with `handle` and `stream`, subscribers with `subscribe`, then
 * `start` it (or `run` it until SIGINT/SIGTERM). A started service keeps Node alive until
 * `stop`.
 */
export class Service {
  /** The service's name. */
  readonly name: string
  #native: native.Service
  #running = false

  /** A service named `name`. */
  constructor(name: string, options: ServiceOptions = {}) {
    this.name = name
    const { version, address, metadata, registry, broker, store } = options
    this.#native = now(
      () => new native.Service(name, { version, address, metadata }, registry?.native, broker?.native, store?.native),
    )
  }

  /** Serves `endpoint` (`Handler.Method`) with `handler`; what it throws reaches the caller as a `MicroError` with its `code` (default 500). */
  handle<Req = any, Rsp = any>(endpoint: string, handler: Handler<Req, Rsp>, options?: EndpointOptions): this {
    needFunction(handler, `the handler of ${endpoint}`)
    const call = async (request: native.Request): Promise<native.Reply> => {
      try {
        const ctx = { service: request.service, endpoint: request.endpoint, metadata: request.metadata }
        const response = await handler(decode(request.body, 'the request') as Req, ctx)
        return { body: encode(response) }
      } catch (err) {
        return { error: errorJson(err, request.service) }
      }
    }
    now(() => this.#native.handle(endpoint, call, endpointDoc(options)))
    return this
  }

  /** Serves the stream endpoint `endpoint` with `handler` (an async generator, usually). */
  stream<Req = any, Rsp = any>(endpoint: string, handler: StreamHandler<Req, Rsp>, options?: EndpointOptions): this {
    needFunction(handler, `the stream handler of ${endpoint}`)
    const run = async (stream: native.ServerStream): Promise<native.Reply> => {
      const ctx = stream.context
      try {
        const requests = (async function* () {
          for (;;) {
            const text = await settle(stream.recv())
            if (text === null) return
            yield decode(text, 'a stream message') as Req
          }
        })()
        for await (const message of handler(requests, ctx)) {
          await settle(stream.send(encode(message)))
        }
        return {}
      } catch (err) {
        return { error: errorJson(err, ctx.service) }
      }
    }
    now(() => this.#native.stream(endpoint, run, endpointDoc(options)))
    return this
  }

  /** Runs `handler` for each message on `topic`; with a `queue`, the service's instances share the messages. */
  subscribe<Msg = any>(topic: string, handler: MessageHandler<Msg>, options: { queue?: string } = {}): this {
    now(() => this.#native.subscribe(topic, subscriber(handler), options.queue))
    return this
  }

  /** Listens, subscribes and registers; resolves to the address it serves on. */
  async start(): Promise<string> {
    const address = await settle(this.#native.start())
    this.#running = true
    keepAlive.hold()
    return address
  }

  /** Deregisters, unsubscribes and finishes in-flight requests; then Node may exit. */
  async stop(): Promise<void> {
    try {
      await settle(this.#native.stop())
    } finally {
      if (this.#running) {
        this.#running = false
        keepAlive.release()
      }
    }
  }

  /** Starts the service, serves until SIGINT or SIGTERM, then stops it cleanly. */
  async run(): Promise<void> {
    // The handlers go in before start, so a signal right after the banner is not missed.
    let signalled = (): void => {}
    const signal = new Promise<void>((resolve) => (signalled = resolve))
    const done = (): void => {
      process.off('SIGINT', done)
      process.off('SIGTERM', done)
      signalled()
    }
    process.on('SIGINT', done)
    process.on('SIGTERM', done)
    try {
      const address = await this.start()
      console.error(`service ${this.name} serving on ${address}`)
    } catch (err) {
      done()
      throw err
    }
    await signal
    await this.stop()
  }
}

/** Options of one call or stream. */
export interface CallOptions {
  /** How long the call may take in all, in milliseconds (default 30 000); for a stream, how long opening may take. */
  timeout?: number
  /** Call metadata, sent as headers. */
  metadata?: Record<string, string>
  /** Attempts after the first (default 1). */
  retries?: number
  /** Node addresses (`host:port`) to call instead of looking the service up. */
  address?: string[]
}

/** The caller's end of a stream: `send` messages, and read the replies with `for await`. */
export class Stream<Req = any, Rsp = any> implements AsyncIterable<Rsp> {
  #native: native.ClientStream

  /** @internal */
  constructor(stream: native.ClientStream) {
    this.#native = stream
  }

  /** Sends one message. */
  async send(message: Req): Promise<void> {
    return settle(this.#native.send(encode(message)))
  }

  /** The next reply; `undefined` once the server ended the stream. */
  async recv(): Promise<Rsp | undefined> {
    const text = await settle(this.#native.recv())
    return text === null ? undefined : (decode(text, 'a stream message') as Rsp)
  }

  /** Tells the server no more messages will be sent. */
  async close(): Promise<void> {
    return settle(this.#native.close())
  }

  /** The replies, until the server ends the stream. */
  async *[Symbol.asyncIterator](): AsyncIterator<Rsp> {
    for (;;) {
      const message = await this.recv()
      if (message === undefined) return
      yield message
    }
  }
}

/** The RPC client: calls services found in the registry, opens streams and publishes. */
export class Client {
  #native: native.Client

  /** A client using `registry` and `broker` (default: the `MICRO_*` environment's). */
  constructor(options: { registry?: Registry; broker?: Broker } = {}) {
    this.#native = now(() => new native.Client(options.registry?.native, options.broker?.native))
  }

  /** Calls `endpoint` of `service` with `request`; resolves to the response, rejects with a `MicroError`. */
  async call<Rsp = any>(service: string, endpoint: string, request: unknown = {}, options?: CallOptions): Promise<Rsp> {
    const text = await settle(this.#native.call(service, endpoint, encode(request), options))
    return decode(text, 'the response') as Rsp
  }

  /** Opens a stream to `endpoint` of `service`, sending `request` first when given. */
  async stream<Req = any, Rsp = any>(
    service: string,
    endpoint: string,
    request?: Req,
    options?: CallOptions,
  ): Promise<Stream<Req, Rsp>> {
    const stream = new Stream<Req, Rsp>(await settle(this.#native.stream(service, endpoint, options)))
    if (request !== undefined) await stream.send(request)
    return stream
  }

  /** Publishes `message` as JSON on `topic`. */
  async publish(topic: string, message: unknown, options: { metadata?: Record<string, string> } = {}): Promise<void> {
    return settle(this.#native.publish(topic, encode(message), options.metadata))
  }
}

/** Components for a gateway or MCP server, and where it listens. */
export interface ServerOptions {
  /** `host:port`; `:8080` means 127.0.0.1:8080. */
  address?: string
  /** Where services are found (default: `MICRO_REGISTRY`). */
  registry?: Registry
  /** What `/micro/store` serves (default: `MICRO_STORE`). */
  store?: Store
  /** What `/micro/broker` publishes to (default: `MICRO_BROKER`). */
  broker?: Broker
}

/** An HTTP server running in this process; it keeps Node alive until `stop`. */
export class HttpServer {
  #native: native.HttpServer | undefined
  /** Where it listens, `host:port`. */
  readonly address: string

  /** @internal */
  constructor(server: native.HttpServer) {
    this.#native = server
    this.address = server.address
    keepAlive.hold()
  }

  /** Stops serving; stopping twice does nothing. */
  async stop(): Promise<void> {
    const server = this.#native
    if (!server) return
    this.#native = undefined
    keepAlive.release()
    await settle(server.stop())
  }
}

/** The HTTP API gateway: `POST /{service}/{Handler.Method}`, `/api/...`, `/micro/...` and, with `mcp`, MCP at `/mcp`. */
export class Gateway extends HttpServer {
  /** Serves the gateway (default address `:8080`). */
  static async start(options: ServerOptions & { mcp?: boolean } = {}): Promise<Gateway> {
    const { address = ':8080', mcp, registry, store, broker } = options
    const server = await settle(native.startGateway(address, mcp, registry?.native, store?.native, broker?.native))
    return new Gateway(server)
  }
}

/** Serves every endpoint of the registered services as MCP tools over Streamable HTTP at `/mcp` (default address `:3000`). */
export async function serveMcp(options: ServerOptions = {}): Promise<HttpServer> {
  const { address = ':3000', registry, store, broker } = options
  return new HttpServer(await settle(native.serveMcp(address, registry?.native, store?.native, broker?.native)))
}

/** Which model to use; what is left out comes from `MICRO_AI_PROVIDER`, `MICRO_AI_MODEL`, `MICRO_AI_API_KEY` (or the provider's own key variable, such as `OPENAI_API_KEY`) and `MICRO_AI_BASE_URL`. */
export interface ModelOptions {
  /** `anthropic`, `openai`, `gemini`, `groq`, `mistral`, `together`, `atlascloud`, `ollama` or `minimax` (default `openai`). */
  provider?: string
  /** The model (default: the provider's). */
  model?: string
  /** The API key; never printed. */
  apiKey?: string
  /** The API's address, e.g. `http://127.0.0.1:8080/v1` for a local OpenAI-compatible server. */
  baseUrl?: string
}

/** A tool as a model sees it. */
export interface ToolSpec {
  /** Its name: letters, digits, `_` and `-`, at most 64 (what every provider accepts). */
  name: string
  /** What it does, for the model to choose it. */
  description?: string
  /** The JSON Schema of its arguments (an object schema). */
  parameters?: object
}

/** A tool the model asked for, and once run, its result or error. */
export interface ToolCall {
  /** The provider's id for the call, which the result answers. */
  id: string
  /** The tool's name, as offered. */
  name: string
  /** The arguments the model gave (a JSON object). */
  arguments: any
  /** The tool's answer, once it ran and succeeded. */
  result?: any
  /** Why it failed or did not run. */
  error?: string
}

/** One message of a conversation. */
export interface ChatMessage {
  /** Who said it. */
  role: 'system' | 'user' | 'assistant' | 'tool'
  /** What was said; for a tool message the tool's result (JSON text). */
  content: string
  /** The tools an assistant message asked for. */
  tool_calls?: ToolCall[]
  /** The tool call a tool message answers. */
  tool_call_id?: string
}

/** Tokens a model read and wrote, as the provider counted them (0 when it did not say). */
export interface Usage {
  /** Tokens read: the prompt, the conversation and the tools. */
  input_tokens: number
  /** Tokens written. */
  output_tokens: number
}

/** A model's answer. */
export interface ModelResponse {
  /** The answer's text. */
  text: string
  /** From `Model`: the tools asked for, not run. From `Agent`: every call made, each with its `result` or `error`. */
  tool_calls: ToolCall[]
  /** Tokens used, over every step. */
  usage: Usage
  /** The messages this exchange added (the prompt, tool calls and results, the answer): pass them as `messages` next time to keep the conversation. */
  messages: ChatMessage[]
}

/** What a stream reports, in order: text pieces, tool calls and their results, then `done` with the whole answer. */
export type ModelEvent =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'tool_result'; call: ToolCall }
  | { type: 'done'; response: ModelResponse }

/** Runs a tool call: its result (any JSON value), or a throw the model is told about. */
export type ToolHandler = (call: ToolCall) => unknown | Promise<unknown>

/** What to ask besides the prompt. */
export interface AskOptions {
  /** Instructions for the model. */
  system?: string
  /** The conversation so far, oldest first (a response's `messages`, gathered). */
  messages?: ChatMessage[]
}

/** The engine's request as JSON text. */
function askJson(prompt: string, options: AskOptions & { tools?: ToolSpec[] }): string {
  const { system = '', messages = [], tools = [] } = options
  return JSON.stringify({ prompt, system, messages, tools })
}

/** A streamed answer: read it with `for await`; a failure (the provider's, a step limit) throws its `MicroError` there. */
export class Events implements AsyncIterable<ModelEvent> {
  #native: native.Events

  /** @internal */
  constructor(events: native.Events) {
    this.#native = events
  }

  /** The events, until the answer is done. */
  async *[Symbol.asyncIterator](): AsyncIterator<ModelEvent> {
    for (;;) {
      const text = await settle(this.#native.next())
      if (text === null) return
      yield JSON.parse(text) as ModelEvent
    }
  }
}

/**
 * A model of one provider, spoken to in its own API. The constructor throws a `MicroError`
 * (400) for an unknown provider or a missing key.
 */
export class Model {
  /** @internal */
  readonly native: native.Model

  /** The model `options` name; the rest from the `MICRO_AI_*` environment. */
  constructor(options: ModelOptions = {}) {
    this.native = now(() => new native.Model(options))
  }

  /** The provider's name. */
  get provider(): string {
    return this.native.provider
  }

  /** The model's name. */
  get name(): string {
    return this.native.name
  }

  /** Asks `prompt` and resolves to the whole answer; the `tools` offered come back in `tool_calls` when asked for, not run (an `Agent` runs them). */
  async generate(prompt: string, options: AskOptions & { tools?: ToolSpec[] } = {}): Promise<ModelResponse> {
    return JSON.parse(await settle(this.native.generate(askJson(prompt, options))))
  }

  /** Asks as `generate` does and streams the answer: `text` pieces, a `tool_call` for each tool asked for (not run), then `done`. */
  stream(prompt: string, options: AskOptions & { tools?: ToolSpec[] } = {}): Events {
    return new Events(now(() => this.native.stream(askJson(prompt, options))))
  }
}

/** What an agent offers its model, and how long it may go on. */
export interface AgentOptions {
  /** Tools of your own, run by `handler`. Without them, every endpoint of the services in `registry` is a tool, called through the client. */
  tools?: ToolSpec[]
  /** Runs each tool call the model makes (in the client's place, for registry tools); what it throws is told to the model as the call's error. */
  handler?: ToolHandler
  /** How many times the model may ask for tools before it must answer (default 10). */
  maxSteps?: number
  /** Where the registry tools' services are found (default: `MICRO_REGISTRY`). */
  registry?: Registry
  /** The store of the registry tools' catalogue (default: `MICRO_STORE`). */
  store?: Store
  /** The broker of the registry tools' client (default: `MICRO_BROKER`). */
  broker?: Broker
}

/**
 * A model with tools, running the tool loop: it asks the model, runs the tools the model asks
 * for (in parallel when it asks for several), gives it the results, and repeats until the
 * model answers or has asked `maxSteps` times (then a 400 `MicroError`).
 */
export class Agent {
  #native: native.Agent

  /** `model` offered `options.tools` run by `options.handler`, or else the registry's endpoints. */
  constructor(model: Model, options: AgentOptions = {}) {
    const { tools, handler, maxSteps, registry, store, broker } = options
    if (handler !== undefined) needFunction(handler, 'a tool handler')
    const run =
      handler &&
      (async (call: string): Promise<native.Reply> => {
        try {
          return { body: encode(await handler(JSON.parse(call) as ToolCall)) }
        } catch (err) {
          return { error: errorJson(err, 'go-micro.ai') }
        }
      })
    const specs = tools && JSON.stringify(tools)
    this.#native = now(
      () => new native.Agent(model.native, specs, run, maxSteps, registry?.native, store?.native, broker?.native),
    )
  }

  /** Runs the loop for `prompt` and resolves to the answer, with every tool call made in `tool_calls`. */
  async generate(prompt: string, options: AskOptions = {}): Promise<ModelResponse> {
    return JSON.parse(await settle(this.#native.generate(askJson(prompt, options))))
  }

  /** Runs the loop as `generate` does, reporting as it goes: `text` pieces, `tool_call` and `tool_result` for each tool, then `done`. */
  stream(prompt: string, options: AskOptions = {}): Events {
    return new Events(now(() => this.#native.stream(askJson(prompt, options))))
  }
}
