// An external MCP client (the official TypeScript SDK) driving a micro MCP server.
//
//   node ts_client.mjs stdio <micro binary> [extra `mcp serve` flags...]
//   node ts_client.mjs http  <url, e.g. http://127.0.0.1:3000/mcp> [bearer token]
//
// It lists the tools, calls helloworld and checks the spec's two kinds of error. It prints one
// line per check and exits non-zero when any check fails. Run it with Node 22
// (tests/mcp/node22, installed by scripts/setup.sh).

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

const TOOL = 'helloworld.Helloworld.Call';
const MISSING_TOOL = 'helloworld.Helloworld.NoSuchMethod';
const DEADLINE_MS = 60_000;

const [mode, target, ...rest] = process.argv.slice(2);
if (!['stdio', 'http'].includes(mode) || !target) {
  console.error(
    'usage: node ts_client.mjs stdio <micro binary> [serve flags...]\n' +
      '       node ts_client.mjs http <url of /mcp> [bearer token]'
  );
  process.exit(2);
}

// A server that never answers must not hang the test run.
setTimeout(() => {
  console.error(`ts_client: FAILED: no answer within ${DEADLINE_MS / 1000}s from ${target}`);
  process.exit(1);
}, DEADLINE_MS).unref();

function transportFor() {
  if (mode === 'stdio') {
    // The server inherits the whole environment (MICRO_REGISTRY and friends); its logs go to our stderr.
    return new StdioClientTransport({
      command: target,
      args: ['mcp', 'serve', ...rest],
      env: { ...process.env },
      stderr: 'inherit'
    });
  }
  const [token] = rest;
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  return new StreamableHTTPClientTransport(new URL(target), { requestInit: { headers } });
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function texts(result) {
  return (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text);
}

async function listAllTools(client) {
  const tools = [];
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

const client = new Client({ name: 'libmicro-ts-client', version: '1.0.0' });
let passed = 0;
const failures = [];

async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failures.push(name);
    console.log(`FAIL ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

try {
  await client.connect(transportFor());
} catch (err) {
  console.error(`ts_client: FAILED: could not initialize an MCP session with ${target}: ${String(err.message).trim()}`);
  process.exit(1);
}

await check('initialize: server names itself and offers tools', async () => {
  const info = client.getServerVersion();
  assert(info?.name, `initialize result has no serverInfo.name: ${JSON.stringify(info)}`);
  assert(client.getServerCapabilities()?.tools, 'server capabilities do not include tools');
});

await check('ping', async () => {
  await client.ping();
});

await check(`tools/list has ${TOOL} with a "name" property`, async () => {
  const tools = await listAllTools(client);
  const tool = tools.find((t) => t.name === TOOL);
  assert(tool, `${TOOL} is not listed; tools: ${tools.map((t) => t.name).join(', ') || '(none)'}`);
  assert(tool.inputSchema?.type === 'object', `inputSchema is not an object schema: ${JSON.stringify(tool.inputSchema)}`);
  assert(
    tool.inputSchema.properties?.name?.type === 'string',
    `inputSchema has no string property "name": ${JSON.stringify(tool.inputSchema)}`
  );
});

await check(`tools/call ${TOOL} {"name":"Alice"} says Hello Alice`, async () => {
  const result = await client.callTool({ name: TOOL, arguments: { name: 'Alice' } });
  assert(result.isError !== true, `the call failed: ${JSON.stringify(result)}`);
  assert(
    texts(result).some((t) => t.includes('Hello Alice')),
    `no text content contains "Hello Alice": ${JSON.stringify(result.content)}`
  );
  if (result.structuredContent !== undefined) {
    assert(
      result.structuredContent.msg === 'Hello Alice',
      `structuredContent.msg is not "Hello Alice": ${JSON.stringify(result.structuredContent)}`
    );
  }
});

// The spec (server/tools, "Error Handling"): an unknown tool is a protocol error (JSON-RPC
// error, InvalidParams), while invalid arguments are a tool execution error (isError: true).
await check('tools/call of an unknown tool is a JSON-RPC InvalidParams error', async () => {
  let result;
  try {
    result = await client.callTool({ name: MISSING_TOOL, arguments: {} });
  } catch (err) {
    assert(err instanceof McpError, `expected a JSON-RPC error, got ${err}`);
    assert(err.code === ErrorCode.InvalidParams, `expected code -32602, got ${err.code}: ${err.message}`);
    return;
  }
  throw new Error(`expected a JSON-RPC error, got a result: ${JSON.stringify(result)}`);
});

await check(`tools/call ${TOOL} with a number for "name" is a result with isError`, async () => {
  const result = await client.callTool({ name: TOOL, arguments: { name: 42 } });
  assert(result.isError === true, `expected isError: true, got ${JSON.stringify(result)}`);
  assert(texts(result).some((t) => t.length > 0), `the error result has no text saying why: ${JSON.stringify(result)}`);
});

await client.close();
console.log(`ts_client: ${passed} passed, ${failures.length} failed`);
if (failures.length > 0) {
  console.error(`ts_client: FAILED against ${mode} ${target}: ${failures.join('; ')}`);
  process.exit(1);
}
