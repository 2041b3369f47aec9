"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.Agent = exports.Model = exports.Events = exports.Gateway = exports.HttpServer = exports.Client = exports.Stream = exports.Service = exports.Broker = exports.Subscription = exports.Store = exports.Registry = exports.MicroError = void 0;
exports.serveMcp = serveMcp;
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
const native = require("./native.js");
/** HTTP status texts for the codes go-micro uses. */
const STATUS = {
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
};
/** The kind of a code read from the wire, as the engine reads it. */
function kindOf(code) {
    switch (code) {
        case 401:
            return 'unauthorized';
        case 403:
            return 'forbidden';
        case 404:
            return 'not_found';
        case 408:
            return 'timeout';
        case 409:
            return 'conflict';
        case 429:
            return 'too_many';
        case 502:
        case 503:
        case 504:
            return 'unavailable';
        default:
            return code >= 400 && code < 500 ? 'bad_request' : 'internal';
    }
}
/** An error as go-micro carries it: who raised it (`id`), an HTTP-like `code` and a `detail`. */
class MicroError extends Error {
    /** Who raised the error, e.g. `go.micro.client` or a service name. */
    id;
    /** An HTTP status code: 400, 401, 403, 404, 408, 500, ... */
    code;
    /** What went wrong. */
    detail;
    /** The HTTP status text for `code`, e.g. `Not Found`. */
    status;
    /** What sort of failure this is (not on the wire); from `code` unless the engine said. */
    kind;
    /**
     * An error with `detail`, `code` (default 500) and `id` (default: the service raising it);
     * `status` and `kind` follow from the code unless given.
     */
    constructor(detail, code = 500, id = '', status, kind) {
        super(detail);
        this.name = 'MicroError';
        this.id = id;
        this.code = code;
        this.detail = detail;
        this.status = status ?? STATUS[code] ?? '';
        this.kind = kind ?? kindOf(code);
    }
    /** 400: the caller sent something wrong. */
    static badRequest(detail, id = '') {
        return new MicroError(detail, 400, id);
    }
    /** 401: the caller is not authenticated. */
    static unauthorized(detail, id = '') {
        return new MicroError(detail, 401, id);
    }
    /** 403: the caller may not do this. */
    static forbidden(detail, id = '') {
        return new MicroError(detail, 403, id);
    }
    /** 404: the thing asked for does not exist. */
    static notFound(detail, id = '') {
        return new MicroError(detail, 404, id);
    }
    /** 500: something failed inside. */
    static internal(detail, id = '') {
        return new MicroError(detail, 500, id);
    }
    /** go-micro's error JSON fields. */
    toJSON() {
        return { id: this.id, code: this.code, detail: this.detail, status: this.status };
    }
}
exports.MicroError = MicroError;
/** The native addon's error (go-micro's error JSON as its message) as a `MicroError`. */
function fromNative(err) {
    if (!(err instanceof Error) || !err.message.startsWith('{'))
        return err;
    try {
        const e = JSON.parse(err.message);
        if (typeof e.code === 'number' || typeof e.detail === 'string') {
            return new MicroError(e.detail ?? '', e.code || 500, e.id ?? '', e.status, e.kind);
        }
    }
    catch {
        // not go-micro's error JSON: the error stays as it is
    }
    return err;
}
/** Awaits a native promise, rejecting with a `MicroError` for engine errors. */
async function settle(promise) {
    try {
        return await promise;
    }
    catch (err) {
        throw fromNative(err);
    }
}
/** Runs a native call, throwing a `MicroError` for engine errors. */
function now(call) {
    try {
        return call();
    }
    catch (err) {
        throw fromNative(err);
    }
}
/** JSON text from a request or message: `{}` when empty, a 400 when not JSON. */
function decode(text, what) {
    if (text === '')
        return {};
    try {
        return JSON.parse(text);
    }
    catch (err) {
        throw MicroError.badRequest(`${what} is not JSON: ${err.message}`);
    }
}
/** A value as JSON text; `undefined` is `{}`. */
function encode(value) {
    return JSON.stringify(value === undefined ? {} : value);
}
/** A thrown value as go-micro's error JSON: its `code` when it has an HTTP-like one, else 500. */
function errorJson(err, id) {
    const e = err;
    const code = typeof e?.code === 'number' && Number.isInteger(e.code) && e.code >= 100 && e.code < 600
        ? e.code
        : 500;
    const detail = typeof e?.detail === 'string' ? e.detail : typeof e?.message === 'string' ? e.message : String(err);
    const raisedBy = typeof e?.id === 'string' && e.id !== '' ? e.id : id;
    return JSON.stringify({ id: raisedBy, code, detail, status: STATUS[code] ?? '' });
}
/** Throws a clear error unless `handler` is a function. */
function needFunction(handler, what) {
    if (typeof handler !== 'function') {
        throw new TypeError(`${what} must be a function (an async function, usually), got ${typeof handler}`);
    }
}
/** Handles that keep Node alive: one timer while anything serves or listens. */
const keepAlive = {
    count: 0,
    timer: undefined,
    hold() {
        if (this.count++ === 0)
            this.timer = setInterval(() => { }, 1 << 30);
    },
    release() {
        if (--this.count === 0) {
            clearInterval(this.timer);
            this.timer = undefined;
        }
    },
};
/** The native form of endpoint options. */
function endpointDoc(options) {
    if (!options)
        return undefined;
    const { example, requestSchema, responseSchema } = options;
    return {
        description: options.description,
        example: example === undefined || typeof example === 'string' ? example : JSON.stringify(example),
        requestSchema: requestSchema && JSON.stringify(requestSchema),
        requestType: options.requestType,
        responseSchema: responseSchema && JSON.stringify(responseSchema),
        responseType: options.responseType,
        scopes: options.scopes,
        metadata: options.metadata,
    };
}
/**
 * A service registry: `mdns` (default, across processes), `memory` (this process only), or
 * `etcd` and `nats` (across hosts, shared with go-micro services).
 */
class Registry {
    /** @internal */
    native;
    /**
     * The registry named `kind`; `MICRO_REGISTRY` (default `mdns`) when omitted. `address` is
     * where it is, for registries that need one (etcd: `host:port`, nats: `nats://host:4222`;
     * default `MICRO_REGISTRY_ADDRESS`).
     */
    constructor(kind, address) {
        this.native = now(() => new native.Registry(kind, address));
    }
    /** The registry's kind. */
    get kind() {
        return this.native.kind;
    }
    /** Every registered service. */
    async listServices() {
        return JSON.parse(await settle(this.native.listServices()));
    }
    /** Every registered version of the service `name`; rejects with a 404 when none is. */
    async getService(name) {
        return JSON.parse(await settle(this.native.getService(name)));
    }
    /**
     * Registers a service running elsewhere (a `Service` registers itself), in the shape
     * `getService` gives, expiring after `ttl` milliseconds when given.
     */
    async register(service, options = {}) {
        return settle(this.native.register(JSON.stringify(service), options.ttl));
    }
    /** Removes the nodes of `service` (shaped as for `register`) from the registry. */
    async deregister(service) {
        return settle(this.native.deregister(JSON.stringify(service)));
    }
}
exports.Registry = Registry;
/**
 * A key-value store: `file` (default, embedded, durable), `memory`, or `mysql`, `postgres`,
 * `redis` and `nats` on their servers (`options.address` is the server's URL).
 */
class Store {
    /** @internal */
    native;
    /** The store named `kind`; `MICRO_STORE` (default `file`) when omitted. */
    constructor(kind, options) {
        this.native = now(() => new native.Store(kind, options));
    }
    /** The records at `key`, or with `prefix` every record whose key starts with it; a missing key rejects with a 404. */
    async read(key, options = {}) {
        return settle(this.native.read(key, options.prefix));
    }
    /** Writes `value` (text or bytes) at `key`, expiring after `ttl` milliseconds when given. */
    async write(key, value, options = {}) {
        return settle(this.native.write(key, Buffer.from(value), options.ttl));
    }
    /** Deletes the record at `key`. */
    async delete(key) {
        return settle(this.native.delete(key));
    }
    /** The keys, in order; only those starting with `prefix` when given. */
    async list(options = {}) {
        return settle(this.native.list(options.prefix));
    }
}
exports.Store = Store;
/** A subscription to a topic; `unsubscribe` ends it. */
class Subscription {
    #native;
    /** @internal */
    constructor(subscription) {
        this.#native = subscription;
        keepAlive.hold();
    }
    /** Stops delivery; unsubscribing twice does nothing. */
    async unsubscribe() {
        const subscription = this.#native;
        if (!subscription)
            return;
        this.#native = undefined;
        keepAlive.release();
        await settle(subscription.unsubscribe());
    }
}
exports.Subscription = Subscription;
/** The native form of a message handler. */
function subscriber(handler) {
    needFunction(handler, 'a message handler');
    return async (event) => {
        try {
            let message = event.body;
            try {
                message = JSON.parse(event.body);
            }
            catch {
                // not JSON: the handler gets the text
            }
            await handler(message, { topic: event.topic, header: event.header });
            return {};
        }
        catch (err) {
            return { error: errorJson(err, event.topic) };
        }
    };
}
/** A message broker: `http` (default, go-micro compatible), `rabbitmq` (go-micro's RabbitMQ broker) or `memory` (this process only). */
class Broker {
    /** @internal */
    native;
    /**
     * The broker named `kind`; `MICRO_BROKER` (default `http`) when omitted. The `http` broker
     * finds subscribers through `registry`. `address` is `MICRO_BROKER_ADDRESS`: the HTTP
     * broker's listen address, NATS's (`nats://host:4222`, `?jetstream=true` for at-least-once
     * delivery) or RabbitMQ's URL (`amqp://user:password@host:5672/vhost`).
     */
    constructor(kind, options = {}) {
        this.native = now(() => new native.Broker(kind, options.registry?.native, options.address));
    }
    /** The broker's kind. */
    get kind() {
        return this.native.kind;
    }
    /** Publishes `message` (JSON-encoded unless text or bytes) on `topic`. */
    async publish(topic, message, options = {}) {
        const body = typeof message === 'string' || message instanceof Uint8Array ? Buffer.from(message) : Buffer.from(encode(message));
        return settle(this.native.publish(topic, body, options.header));
    }
    /** Calls `handler` for each message on `topic`; subscribers sharing a `queue` share the messages. */
    async subscribe(topic, handler, options = {}) {
        const subscription = await settle(this.native.subscribe(topic, subscriber(handler), options.queue));
        return new Subscription(subscription);
    }
}
exports.Broker = Broker;
/**
 * A service: add endpoints with `handle` and `stream`, subscribers with `subscribe`, then
 * `start` it (or `run` it until SIGINT/SIGTERM). A started service keeps Node alive until
 * `stop`.
 */
class Service {
    /** The service's name. */
    name;
    #native;
    #running = false;
    /** A service named `name`. */
    constructor(name, options = {}) {
        this.name = name;
        const { version, address, metadata, registry, broker, store } = options;
        this.#native = now(() => new native.Service(name, { version, address, metadata }, registry?.native, broker?.native, store?.native));
    }
    /** Serves `endpoint` (`Handler.Method`) with `handler`; what it throws reaches the caller as a `MicroError` with its `code` (default 500). */
    handle(endpoint, handler, options) {
        needFunction(handler, `the handler of ${endpoint}`);
        const call = async (request) => {
            try {
                const ctx = { service: request.service, endpoint: request.endpoint, metadata: request.metadata };
                const response = await handler(decode(request.body, 'the request'), ctx);
                return { body: encode(response) };
            }
            catch (err) {
                return { error: errorJson(err, request.service) };
            }
        };
        now(() => this.#native.handle(endpoint, call, endpointDoc(options)));
        return this;
    }
    /** Serves the stream endpoint `endpoint` with `handler` (an async generator, usually). */
    stream(endpoint, handler, options) {
        needFunction(handler, `the stream handler of ${endpoint}`);
        const run = async (stream) => {
            const ctx = stream.context;
            try {
                const requests = (async function* () {
                    for (;;) {
                        const text = await settle(stream.recv());
                        if (text === null)
                            return;
                        yield decode(text, 'a stream message');
                    }
                })();
                for await (const message of handler(requests, ctx)) {
                    await settle(stream.send(encode(message)));
                }
                return {};
            }
            catch (err) {
                return { error: errorJson(err, ctx.service) };
            }
        };
        now(() => this.#native.stream(endpoint, run, endpointDoc(options)));
        return this;
    }
    /** Runs `handler` for each message on `topic`; with a `queue`, the service's instances share the messages. */
    subscribe(topic, handler, options = {}) {
        now(() => this.#native.subscribe(topic, subscriber(handler), options.queue));
        return this;
    }
    /** Listens, subscribes and registers; resolves to the address it serves on. */
    async start() {
        const address = await settle(this.#native.start());
        this.#running = true;
        keepAlive.hold();
        return address;
    }
    /** Deregisters, unsubscribes and finishes in-flight requests; then Node may exit. */
    async stop() {
        try {
            await settle(this.#native.stop());
        }
        finally {
            if (this.#running) {
                this.#running = false;
                keepAlive.release();
            }
        }
    }
    /** Starts the service, serves until SIGINT or SIGTERM, then stops it cleanly. */
    async run() {
        // The handlers go in before start, so a signal right after the banner is not missed.
        let signalled = () => { };
        const signal = new Promise((resolve) => (signalled = resolve));
        const done = () => {
            process.off('SIGINT', done);
            process.off('SIGTERM', done);
            signalled();
        };
        process.on('SIGINT', done);
        process.on('SIGTERM', done);
        try {
            const address = await this.start();
            console.error(`service ${this.name} serving on ${address}`);
        }
        catch (err) {
            done();
            throw err;
        }
        await signal;
        await this.stop();
    }
}
exports.Service = Service;
/** The caller's end of a stream: `send` messages, and read the replies with `for await`. */
class Stream {
    #native;
    /** @internal */
    constructor(stream) {
        this.#native = stream;
    }
    /** Sends one message. */
    async send(message) {
        return settle(this.#native.send(encode(message)));
    }
    /** The next reply; `undefined` once the server ended the stream. */
    async recv() {
        const text = await settle(this.#native.recv());
        return text === null ? undefined : decode(text, 'a stream message');
    }
    /** Tells the server no more messages will be sent. */
    async close() {
        return settle(this.#native.close());
    }
    /** The replies, until the server ends the stream. */
    async *[Symbol.asyncIterator]() {
        for (;;) {
            const message = await this.recv();
            if (message === undefined)
                return;
            yield message;
        }
    }
}
exports.Stream = Stream;
/** The RPC client: calls services found in the registry, opens streams and publishes. */
class Client {
    #native;
    /** A client using `registry` and `broker` (default: the `MICRO_*` environment's). */
    constructor(options = {}) {
        this.#native = now(() => new native.Client(options.registry?.native, options.broker?.native));
    }
    /** Calls `endpoint` of `service` with `request`; resolves to the response, rejects with a `MicroError`. */
    async call(service, endpoint, request = {}, options) {
        const text = await settle(this.#native.call(service, endpoint, encode(request), options));
        return decode(text, 'the response');
    }
    /** Opens a stream to `endpoint` of `service`, sending `request` first when given. */
    async stream(service, endpoint, request, options) {
        const stream = new Stream(await settle(this.#native.stream(service, endpoint, options)));
        if (request !== undefined)
            await stream.send(request);
        return stream;
    }
    /** Publishes `message` as JSON on `topic`. */
    async publish(topic, message, options = {}) {
        return settle(this.#native.publish(topic, encode(message), options.metadata));
    }
}
exports.Client = Client;
/** An HTTP server running in this process; it keeps Node alive until `stop`. */
class HttpServer {
    #native;
    /** Where it listens, `host:port`. */
    address;
    /** @internal */
    constructor(server) {
        this.#native = server;
        this.address = server.address;
        keepAlive.hold();
    }
    /** Stops serving; stopping twice does nothing. */
    async stop() {
        const server = this.#native;
        if (!server)
            return;
        this.#native = undefined;
        keepAlive.release();
        await settle(server.stop());
    }
}
exports.HttpServer = HttpServer;
/** The HTTP API gateway: `POST /{service}/{Handler.Method}`, `/api/...`, `/micro/...` and, with `mcp`, MCP at `/mcp`. */
class Gateway extends HttpServer {
    /** Serves the gateway (default address `:8080`). */
    static async start(options = {}) {
        const { address = ':8080', mcp, registry, store, broker } = options;
        const server = await settle(native.startGateway(address, mcp, registry?.native, store?.native, broker?.native));
        return new Gateway(server);
    }
}
exports.Gateway = Gateway;
/** Serves every endpoint of the registered services as MCP tools over Streamable HTTP at `/mcp` (default address `:3000`). */
async function serveMcp(options = {}) {
    const { address = ':3000', registry, store, broker } = options;
    return new HttpServer(await settle(native.serveMcp(address, registry?.native, store?.native, broker?.native)));
}
/** The engine's request as JSON text. */
function askJson(prompt, options) {
    const { system = '', messages = [], tools = [] } = options;
    return JSON.stringify({ prompt, system, messages, tools });
}
/** A streamed answer: read it with `for await`; a failure (the provider's, a step limit) throws its `MicroError` there. */
class Events {
    #native;
    /** @internal */
    constructor(events) {
        this.#native = events;
    }
    /** The events, until the answer is done. */
    async *[Symbol.asyncIterator]() {
        for (;;) {
            const text = await settle(this.#native.next());
            if (text === null)
                return;
            yield JSON.parse(text);
        }
    }
}
exports.Events = Events;
/**
 * A model of one provider, spoken to in its own API. The constructor throws a `MicroError`
 * (400) for an unknown provider or a missing key.
 */
class Model {
    /** @internal */
    native;
    /** The model `options` name; the rest from the `MICRO_AI_*` environment. */
    constructor(options = {}) {
        this.native = now(() => new native.Model(options));
    }
    /** The provider's name. */
    get provider() {
        return this.native.provider;
    }
    /** The model's name. */
    get name() {
        return this.native.name;
    }
    /** Asks `prompt` and resolves to the whole answer; the `tools` offered come back in `tool_calls` when asked for, not run (an `Agent` runs them). */
    async generate(prompt, options = {}) {
        return JSON.parse(await settle(this.native.generate(askJson(prompt, options))));
    }
    /** Asks as `generate` does and streams the answer: `text` pieces, a `tool_call` for each tool asked for (not run), then `done`. */
    stream(prompt, options = {}) {
        return new Events(now(() => this.native.stream(askJson(prompt, options))));
    }
}
exports.Model = Model;
/**
 * A model with tools, running the tool loop: it asks the model, runs the tools the model asks
 * for (in parallel when it asks for several), gives it the results, and repeats until the
 * model answers or has asked `maxSteps` times (then a 400 `MicroError`).
 */
class Agent {
    #native;
    /** `model` offered `options.tools` run by `options.handler`, or else the registry's endpoints. */
    constructor(model, options = {}) {
        const { tools, handler, maxSteps, registry, store, broker } = options;
        if (handler !== undefined)
            needFunction(handler, 'a tool handler');
        const run = handler &&
            (async (call) => {
                try {
                    return { body: encode(await handler(JSON.parse(call))) };
                }
                catch (err) {
                    return { error: errorJson(err, 'go-micro.ai') };
                }
            });
        const specs = tools && JSON.stringify(tools);
        this.#native = now(() => new native.Agent(model.native, specs, run, maxSteps, registry?.native, store?.native, broker?.native));
    }
    /** Runs the loop for `prompt` and resolves to the answer, with every tool call made in `tool_calls`. */
    async generate(prompt, options = {}) {
        return JSON.parse(await settle(this.#native.generate(askJson(prompt, options))));
    }
    /** Runs the loop as `generate` does, reporting as it goes: `text` pieces, `tool_call` and `tool_result` for each tool, then `done`. */
    stream(prompt, options = {}) {
        return new Events(now(() => this.#native.stream(askJson(prompt, options))));
    }
}
exports.Agent = Agent;
