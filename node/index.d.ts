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
import * as native from './native.js';
/**
 * What sort of failure an error is, as the engine names it. One code can cover two kinds: a
 * 404 from the service is `not_found`, a 404 because no node of the service is known is
 * `no_service`.
 */
export type Kind = 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'no_service' | 'timeout' | 'conflict' | 'lagged' | 'too_many' | 'internal' | 'unavailable';
/** An error as go-micro carries it: who raised it (`id`), an HTTP-like `code` and a `detail`. */
export declare class MicroError extends Error {
    /** Who raised the error, e.g. `go.micro.client` or a service name. */
    readonly id: string;
    /** An HTTP status code: 400, 401, 403, 404, 408, 500, ... */
    readonly code: number;
    /** What went wrong. */
    readonly detail: string;
    /** The HTTP status text for `code`, e.g. `Not Found`. */
    readonly status: string;
    /** What sort of failure this is (not on the wire); from `code` unless the engine said. */
    readonly kind: Kind;
    /**
     * An error with `detail`, `code` (default 500) and `id` (default: the service raising it);
     * `status` and `kind` follow from the code unless given.
     */
    constructor(detail: string, code?: number, id?: string, status?: string, kind?: Kind);
    /** 400: the caller sent something wrong. */
    static badRequest(detail: string, id?: string): MicroError;
    /** 401: the caller is not authenticated. */
    static unauthorized(detail: string, id?: string): MicroError;
    /** 403: the caller may not do this. */
    static forbidden(detail: string, id?: string): MicroError;
    /** 404: the thing asked for does not exist. */
    static notFound(detail: string, id?: string): MicroError;
    /** 500: something failed inside. */
    static internal(detail: string, id?: string): MicroError;
    /** go-micro's error JSON fields. */
    toJSON(): {
        id: string;
        code: number;
        detail: string;
        status: string;
    };
}
/** Who is calling: the service and endpoint called and the caller's metadata (headers). */
export interface Context {
    /** The service called. */
    service: string;
    /** `Handler.Method`. */
    endpoint: string;
    /** The caller's metadata, as headers. */
    metadata: Record<string, string>;
}
/** A unary handler: the decoded request in, the response (any JSON value) out. */
export type Handler<Req = any, Rsp = any> = (request: Req, ctx: Context) => Rsp | Promise<Rsp>;
/**
 * A stream handler: gets the caller's messages as an async iterator and yields the messages
 * to send back. For a server stream, take the one request with `(await requests.next()).value`.
 */
export type StreamHandler<Req = any, Rsp = any> = (requests: AsyncIterableIterator<Req>, ctx: Context) => AsyncIterable<Rsp> | Iterable<Rsp>;
/** A message handler: the decoded message (JSON, else its text) and where it came from. */
export type MessageHandler<Msg = any> = (message: Msg, event: {
    topic: string;
    header: Record<string, string>;
}) => void | Promise<void>;
/** What is published about an endpoint, for `micro describe`, the gateway and MCP. */
export interface EndpointOptions {
    /** What the endpoint does. */
    description?: string;
    /** An example request (a value, or JSON text). */
    example?: unknown;
    /** The request's JSON Schema (an object schema). */
    requestSchema?: object;
    /** The request type's name in the registry (default: the schema's `title`, else `Request`). */
    requestType?: string;
    /** The response's JSON Schema (an object schema). */
    responseSchema?: object;
    /** The response type's name in the registry (default: the schema's `title`, else `Response`). */
    responseType?: string;
    /** The scopes a caller's token needs. */
    scopes?: string[];
    /** More endpoint metadata (for example `mcp_name`). */
    metadata?: Record<string, string>;
}
/**
 * A service registry: `mdns` (default, across processes), `memory` (this process only), or
 * `etcd` and `nats` (across hosts, shared with go-micro services).
 */
export declare class Registry {
    /**
     * The registry named `kind`; `MICRO_REGISTRY` (default `mdns`) when omitted. `address` is
     * where it is, for registries that need one (etcd: `host:port`, nats: `nats://host:4222`;
     * default `MICRO_REGISTRY_ADDRESS`).
     */
    constructor(kind?: 'mdns' | 'memory' | 'etcd' | 'nats', address?: string);
    /** The registry's kind. */
    get kind(): string;
    /** Every registered service. */
    listServices(): Promise<RegisteredService[]>;
    /** Every registered version of the service `name`; rejects with a 404 when none is. */
    getService(name: string): Promise<RegisteredService[]>;
    /**
     * Registers a service running elsewhere (a `Service` registers itself), in the shape
     * `getService` gives, expiring after `ttl` milliseconds when given.
     */
    register(service: RegisteredService, options?: {
        ttl?: number;
    }): Promise<void>;
    /** Removes the nodes of `service` (shaped as for `register`) from the registry. */
    deregister(service: RegisteredService): Promise<void>;
}
/** A service as the registry knows it. */
export interface RegisteredService {
    /** The service name. */
    name: string;
    /** Its version. */
    version: string;
    /** Service metadata. */
    metadata?: Record<string, string>;
    /** The endpoints it serves, with their types and metadata (`description`, `request_schema`...). */
    endpoints?: {
        name: string;
        request?: unknown;
        response?: unknown;
        metadata?: Record<string, string>;
    }[];
    /** Its running instances. */
    nodes?: {
        id: string;
        address: string;
        metadata?: Record<string, string>;
    }[];
}
/** One stored record. */
export interface StoreRecord {
    /** The key. */
    key: string;
    /** The value. */
    value: Buffer;
}
/**
 * A key-value store: `file` (default, embedded, durable), `memory`, or `mysql`, `postgres`,
 * `redis` and `nats` on their servers (`options.address` is the server's URL).
 */
export declare class Store {
    /** The store named `kind`; `MICRO_STORE` (default `file`) when omitted. */
    constructor(kind?: 'file' | 'memory' | 'mysql' | 'postgres' | 'redis' | 'nats', options?: native.StoreOptions);
    /** The records at `key`, or with `prefix` every record whose key starts with it; a missing key rejects with a 404. */
    read(key: string, options?: {
        prefix?: boolean;
    }): Promise<StoreRecord[]>;
    /** Writes `value` (text or bytes) at `key`, expiring after `ttl` milliseconds when given. */
    write(key: string, value: string | Uint8Array, options?: {
        ttl?: number;
    }): Promise<void>;
    /** Deletes the record at `key`. */
    delete(key: string): Promise<void>;
    /** The keys, in order; only those starting with `prefix` when given. */
    list(options?: {
        prefix?: string;
    }): Promise<string[]>;
}
/** A subscription to a topic; `unsubscribe` ends it. */
export declare class Subscription {
    #private;
    /** Stops delivery; unsubscribing twice does nothing. */
    unsubscribe(): Promise<void>;
}
/** A message broker: `http` (default, go-micro compatible), `rabbitmq` (go-micro's RabbitMQ broker) or `memory` (this process only). */
export declare class Broker {
    /**
     * The broker named `kind`; `MICRO_BROKER` (default `http`) when omitted. The `http` broker
     * finds subscribers through `registry`. `address` is `MICRO_BROKER_ADDRESS`: the HTTP
     * broker's listen address, NATS's (`nats://host:4222`, `?jetstream=true` for at-least-once
     * delivery) or RabbitMQ's URL (`amqp://user:password@host:5672/vhost`).
     */
    constructor(kind?: 'http' | 'memory' | 'nats' | 'rabbitmq', options?: {
        registry?: Registry;
        address?: string;
    });
    /** The broker's kind. */
    get kind(): string;
    /** Publishes `message` (JSON-encoded unless text or bytes) on `topic`. */
    publish(topic: string, message: unknown, options?: {
        header?: Record<string, string>;
    }): Promise<void>;
    /** Calls `handler` for each message on `topic`; subscribers sharing a `queue` share the messages. */
    subscribe(topic: string, handler: MessageHandler, options?: {
        queue?: string;
    }): Promise<Subscription>;
}
/** How a service is published and which components it uses. */
export interface ServiceOptions {
    /** The version published in the registry (default `latest`). */
    version?: string;
    /** The listen address, `host:port` (default `MICRO_SERVER_ADDRESS`, else `127.0.0.1:0`). */
    address?: string;
    /** Service metadata published in the registry. */
    metadata?: Record<string, string>;
    /** The registry to register with (default: `MICRO_REGISTRY`, mdns). */
    registry?: Registry;
    /** The broker subscribers listen on (default: `MICRO_BROKER`, http). */
    broker?: Broker;
    /** The store the service uses (default: `MICRO_STORE`, file). */
    store?: Store;
}
/**
 * A service: add endpoints with `handle` and `stream`, subscribers with `subscribe`, then
 * `start` it (or `run` it until SIGINT/SIGTERM). A started service keeps Node alive until
 * `stop`.
 */
export declare class Service {
    #private;
    /** The service's name. */
    readonly name: string;
    /** A service named `name`. */
    constructor(name: string, options?: ServiceOptions);
    /** Serves `endpoint` (`Handler.Method`) with `handler`; what it throws reaches the caller as a `MicroError` with its `code` (default 500). */
    handle<Req = any, Rsp = any>(endpoint: string, handler: Handler<Req, Rsp>, options?: EndpointOptions): this;
    /** Serves the stream endpoint `endpoint` with `handler` (an async generator, usually). */
    stream<Req = any, Rsp = any>(endpoint: string, handler: StreamHandler<Req, Rsp>, options?: EndpointOptions): this;
    /** Runs `handler` for each message on `topic`; with a `queue`, the service's instances share the messages. */
    subscribe<Msg = any>(topic: string, handler: MessageHandler<Msg>, options?: {
        queue?: string;
    }): this;
    /** Listens, subscribes and registers; resolves to the address it serves on. */
    start(): Promise<string>;
    /** Deregisters, unsubscribes and finishes in-flight requests; then Node may exit. */
    stop(): Promise<void>;
    /** Starts the service, serves until SIGINT or SIGTERM, then stops it cleanly. */
    run(): Promise<void>;
}
/** Options of one call or stream. */
export interface CallOptions {
    /** How long the call may take in all, in milliseconds (default 30 000); for a stream, how long opening may take. */
    timeout?: number;
    /** Call metadata, sent as headers. */
    metadata?: Record<string, string>;
    /** Attempts after the first (default 1). */
    retries?: number;
    /** Node addresses (`host:port`) to call instead of looking the service up. */
    address?: string[];
}
/** The caller's end of a stream: `send` messages, and read the replies with `for await`. */
export declare class Stream<Req = any, Rsp = any> implements AsyncIterable<Rsp> {
    #private;
    /** Sends one message. */
    send(message: Req): Promise<void>;
    /** The next reply; `undefined` once the server ended the stream. */
    recv(): Promise<Rsp | undefined>;
    /** Tells the server no more messages will be sent. */
    close(): Promise<void>;
    /** The replies, until the server ends the stream. */
    [Symbol.asyncIterator](): AsyncIterator<Rsp>;
}
/** The RPC client: calls services found in the registry, opens streams and publishes. */
export declare class Client {
    #private;
    /** A client using `registry` and `broker` (default: the `MICRO_*` environment's). */
    constructor(options?: {
        registry?: Registry;
        broker?: Broker;
    });
    /** Calls `endpoint` of `service` with `request`; resolves to the response, rejects with a `MicroError`. */
    call<Rsp = any>(service: string, endpoint: string, request?: unknown, options?: CallOptions): Promise<Rsp>;
    /** Opens a stream to `endpoint` of `service`, sending `request` first when given. */
    stream<Req = any, Rsp = any>(service: string, endpoint: string, request?: Req, options?: CallOptions): Promise<Stream<Req, Rsp>>;
    /** Publishes `message` as JSON on `topic`. */
    publish(topic: string, message: unknown, options?: {
        metadata?: Record<string, string>;
    }): Promise<void>;
}
/** Components for a gateway or MCP server, and where it listens. */
export interface ServerOptions {
    /** `host:port`; `:8080` means 127.0.0.1:8080. */
    address?: string;
    /** Where services are found (default: `MICRO_REGISTRY`). */
    registry?: Registry;
    /** What `/micro/store` serves (default: `MICRO_STORE`). */
    store?: Store;
    /** What `/micro/broker` publishes to (default: `MICRO_BROKER`). */
    broker?: Broker;
}
/** An HTTP server running in this process; it keeps Node alive until `stop`. */
export declare class HttpServer {
    #private;
    /** Where it listens, `host:port`. */
    readonly address: string;
    /** Stops serving; stopping twice does nothing. */
    stop(): Promise<void>;
}
/** The HTTP API gateway: `POST /{service}/{Handler.Method}`, `/api/...`, `/micro/...` and, with `mcp`, MCP at `/mcp`. */
export declare class Gateway extends HttpServer {
    /** Serves the gateway (default address `:8080`). */
    static start(options?: ServerOptions & {
        mcp?: boolean;
    }): Promise<Gateway>;
}
/** Serves every endpoint of the registered services as MCP tools over Streamable HTTP at `/mcp` (default address `:3000`). */
export declare function serveMcp(options?: ServerOptions): Promise<HttpServer>;
/** Which model to use; what is left out comes from `MICRO_AI_PROVIDER`, `MICRO_AI_MODEL`, `MICRO_AI_API_KEY` (or the provider's own key variable, such as `OPENAI_API_KEY`) and `MICRO_AI_BASE_URL`. */
export interface ModelOptions {
    /** `anthropic`, `openai`, `gemini`, `groq`, `mistral`, `together`, `atlascloud`, `ollama` or `minimax` (default `openai`). */
    provider?: string;
    /** The model (default: the provider's). */
    model?: string;
    /** The API key; never printed. */
    apiKey?: string;
    /** The API's address, e.g. `http://127.0.0.1:8080/v1` for a local OpenAI-compatible server. */
    baseUrl?: string;
}
/** A tool as a model sees it. */
export interface ToolSpec {
    /** Its name: letters, digits, `_` and `-`, at most 64 (what every provider accepts). */
    name: string;
    /** What it does, for the model to choose it. */
    description?: string;
    /** The JSON Schema of its arguments (an object schema). */
    parameters?: object;
}
/** A tool the model asked for, and once run, its result or error. */
export interface ToolCall {
    /** The provider's id for the call, which the result answers. */
    id: string;
    /** The tool's name, as offered. */
    name: string;
    /** The arguments the model gave (a JSON object). */
    arguments: any;
    /** The tool's answer, once it ran and succeeded. */
    result?: any;
    /** Why it failed or did not run. */
    error?: string;
}
/** One message of a conversation. */
export interface ChatMessage {
    /** Who said it. */
    role: 'system' | 'user' | 'assistant' | 'tool';
    /** What was said; for a tool message the tool's result (JSON text). */
    content: string;
    /** The tools an assistant message asked for. */
    tool_calls?: ToolCall[];
    /** The tool call a tool message answers. */
    tool_call_id?: string;
}
/** Tokens a model read and wrote, as the provider counted them (0 when it did not say). */
export interface Usage {
    /** Tokens read: the prompt, the conversation and the tools. */
    input_tokens: number;
    /** Tokens written. */
    output_tokens: number;
}
/** A model's answer. */
export interface ModelResponse {
    /** The answer's text. */
    text: string;
    /** From `Model`: the tools asked for, not run. From `Agent`: every call made, each with its `result` or `error`. */
    tool_calls: ToolCall[];
    /** Tokens used, over every step. */
    usage: Usage;
    /** The messages this exchange added (the prompt, tool calls and results, the answer): pass them as `messages` next time to keep the conversation. */
    messages: ChatMessage[];
}
/** What a stream reports, in order: text pieces, tool calls and their results, then `done` with the whole answer. */
export type ModelEvent = {
    type: 'text';
    text: string;
} | {
    type: 'tool_call';
    call: ToolCall;
} | {
    type: 'tool_result';
    call: ToolCall;
} | {
    type: 'done';
    response: ModelResponse;
};
/** Runs a tool call: its result (any JSON value), or a throw the model is told about. */
export type ToolHandler = (call: ToolCall) => unknown | Promise<unknown>;
/** What to ask besides the prompt. */
export interface AskOptions {
    /** Instructions for the model. */
    system?: string;
    /** The conversation so far, oldest first (a response's `messages`, gathered). */
    messages?: ChatMessage[];
}
/** A streamed answer: read it with `for await`; a failure (the provider's, a step limit) throws its `MicroError` there. */
export declare class Events implements AsyncIterable<ModelEvent> {
    #private;
    /** The events, until the answer is done. */
    [Symbol.asyncIterator](): AsyncIterator<ModelEvent>;
}
/**
 * A model of one provider, spoken to in its own API. The constructor throws a `MicroError`
 * (400) for an unknown provider or a missing key.
 */
export declare class Model {
    /** The model `options` name; the rest from the `MICRO_AI_*` environment. */
    constructor(options?: ModelOptions);
    /** The provider's name. */
    get provider(): string;
    /** The model's name. */
    get name(): string;
    /** Asks `prompt` and resolves to the whole answer; the `tools` offered come back in `tool_calls` when asked for, not run (an `Agent` runs them). */
    generate(prompt: string, options?: AskOptions & {
        tools?: ToolSpec[];
    }): Promise<ModelResponse>;
    /** Asks as `generate` does and streams the answer: `text` pieces, a `tool_call` for each tool asked for (not run), then `done`. */
    stream(prompt: string, options?: AskOptions & {
        tools?: ToolSpec[];
    }): Events;
}
/** What an agent offers its model, and how long it may go on. */
export interface AgentOptions {
    /** Tools of your own, run by `handler`. Without them, every endpoint of the services in `registry` is a tool, called through the client. */
    tools?: ToolSpec[];
    /** Runs each tool call the model makes (in the client's place, for registry tools); what it throws is told to the model as the call's error. */
    handler?: ToolHandler;
    /** How many times the model may ask for tools before it must answer (default 10). */
    maxSteps?: number;
    /** Where the registry tools' services are found (default: `MICRO_REGISTRY`). */
    registry?: Registry;
    /** The store of the registry tools' catalogue (default: `MICRO_STORE`). */
    store?: Store;
    /** The broker of the registry tools' client (default: `MICRO_BROKER`). */
    broker?: Broker;
}
/**
 * A model with tools, running the tool loop: it asks the model, runs the tools the model asks
 * for (in parallel when it asks for several), gives it the results, and repeats until the
 * model answers or has asked `maxSteps` times (then a 400 `MicroError`).
 */
export declare class Agent {
    #private;
    /** `model` offered `options.tools` run by `options.handler`, or else the registry's endpoints. */
    constructor(model: Model, options?: AgentOptions);
    /** Runs the loop for `prompt` and resolves to the answer, with every tool call made in `tool_calls`. */
    generate(prompt: string, options?: AskOptions): Promise<ModelResponse>;
    /** Runs the loop as `generate` does, reporting as it goes: `text` pieces, `tool_call` and `tool_result` for each tool, then `done`. */
    stream(prompt: string, options?: AskOptions): Events;
}
