// Drives the agent playground (/agent) in headless Chromium, against a gateway with auth and the
// dashboard in front of `helloworld` (Helloworld.Call needs scope greeter) and a scripted model
// provider that, for the first two prompts, asks for helloworld_Helloworld_Call and then
// answers, and answers the third at once.
//
//   node agent.mjs <base-url> <screenshot-dir> <provider-url> <api-key> <expect-key-hint: 1|0>
//
// core/tests/agent.rs starts all that, makes account alice (scope other, password
// alice-secret-1) and runs this script (harness.mjs: every step prints a line and leaves a
// screenshot).

import assert from 'node:assert/strict';
import {
  ADMIN, args, base, bodyText, login, logout, noBrowserErrors, page, run, step, submit,
} from './harness.mjs';

const [providerUrl, apiKey, expectKeyHint] = args;
const TOOL = 'helloworld_Helloworld_Call';
const ALICE = { id: 'alice', password: 'alice-secret-1' };

/** Saves the settings form with the scripted provider and the key. */
async function saveSettings() {
  const form = page.locator('form#settings');
  await form.locator('[name="provider"]').selectOption('openai');
  await form.locator('[name="model"]').fill('test-model-1');
  await form.locator('[name="api_key"]').fill(apiKey);
  await form.locator('[name="base_url"]').fill(providerUrl);
  const response = await submit(form);
  assert.equal(response.status(), 200, `saving answered ${response.status()}: ${await bodyText()}`);
  assert.equal((await page.locator('#done').innerText()).trim(), 'Saved.');
  const keyState = await page.locator('#key-state').innerText();
  assert.ok(keyState.includes('A key of your own is stored'), `after saving: ${keyState}`);
  assert.ok(!(await page.content()).includes(apiKey), 'the page shows the API key');
  assert.equal(await form.locator('[name="api_key"]').inputValue(), '', 'the key field should be empty');
}

/** Sends `prompt` and waits for the reply to be done; the reply element and the response. */
async function ask(prompt) {
  await page.locator('#prompt-text').fill(prompt);
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/api/agent/prompt'),
    page.locator('#send').click(),
  ]);
  assert.equal(response.status(), 200, `the prompt answered ${response.status()}`);
  assert.equal(response.headers()['content-type'], 'text/event-stream');
  const reply = page.locator('.msg.assistant').last();
  await reply.and(page.locator('.done')).waitFor();
  return reply;
}

/** The class names of a reply's parts, in order. */
async function parts(reply) {
  return reply.evaluate((el) => [...el.children].map((c) => c.className));
}

await run('agent', async () => {
  await step('admin logs in and finds the playground', async () => {
    await page.goto(`${base}/agent`);
    assert.equal(new URL(page.url()).pathname, '/auth/login', `an anonymous /agent should go to the login page: ${page.url()}`);
    await login(ADMIN);
    assert.equal(new URL(page.url()).pathname, '/agent', `login should come back to /agent: ${page.url()}`);
    assert.equal(await page.locator('nav a[href="/agent"][aria-current="page"]').count(), 1, 'the navigation should link the Agent page');
    if (expectKeyHint === '1') {
      const hints = await page.locator('#hints').innerText();
      assert.ok(hints.includes('no API key for openai'), `the first-run hint should say a key is missing: ${hints}`);
      assert.ok(hints.includes('MICRO_AI_API_KEY'), `the hint should name the variable: ${hints}`);
    }
    assert.equal(await page.locator(`#tools code.tool-name`, { hasText: TOOL }).count(), 1, `admin should be offered ${TOOL}`);
  });

  await step('admin saves settings; the key is never shown', async () => {
    await saveSettings();
    assert.equal(await page.locator('#hints').count(), 0, `nothing should be left to set up: ${await bodyText()}`);
  });

  await step('a prompt streams the reply with the tool call and its result', async () => {
    const reply = await ask('Greet Browser');
    const tool = reply.locator(`details.tool[data-tool="${TOOL}"]`);
    assert.equal(await tool.count(), 1, `the tool call should be shown: ${await reply.innerText()}`);
    assert.deepEqual(JSON.parse(await tool.locator('.tool-arguments').innerText()), { name: 'Browser' });
    assert.deepEqual(JSON.parse(await tool.locator('.tool-result').innerText()), { msg: 'Hello Browser' });
    assert.equal((await tool.locator('.tool-status').innerText()).trim(), 'done');
    assert.equal((await reply.locator('p.text').innerText()).trim(), 'The service answered: Hello Browser');
    assert.deepEqual(await parts(reply), ['tool', 'text'], 'the call should come before the answer');
    assert.ok((await page.locator('#state').innerText()).startsWith('Done'));
    assert.equal(await page.locator('.msg.user').last().innerText(), 'Greet Browser');
  });

  await step('alice has neither the key nor the tool', async () => {
    await logout();
    await login(ALICE);
    await page.goto(`${base}/agent`);
    const keyState = await page.locator('#key-state').innerText();
    assert.ok(!keyState.includes('A key of your own is stored'), `alice should not see admin's key: ${keyState}`);
    assert.equal((await page.locator('#tool-count').innerText()).trim(), '0', 'alice (scope other) should be offered no tool');
    const hints = await page.locator('#hints').innerText();
    assert.ok(hints.includes('may call none of the 1 registered endpoints'), `the hint should say why: ${hints}`);
  });

  await step('alice saves her own settings', async () => {
    await saveSettings();
    const hints = await page.locator('#hints').innerText();
    assert.ok(!hints.includes('API key'), `with a key saved only the tools should be left: ${hints}`);
  });

  await step('the model asks for the tool anyway and is refused', async () => {
    const reply = await ask('Greet Alice');
    const tool = reply.locator(`details.tool[data-tool="${TOOL}"]`);
    assert.equal(await tool.count(), 1, `the refused call should be shown: ${await reply.innerText()}`);
    assert.equal(await tool.locator('.tool-result').count(), 0, 'a refused call has no result');
    const error = await tool.locator('.tool-error').innerText();
    assert.ok(error.includes(`there is no tool "${TOOL}"`), `the refusal should be shown: ${error}`);
    assert.equal((await tool.locator('.tool-status').innerText()).trim(), 'refused or failed');
    assert.equal((await reply.locator('p.text').innerText()).trim(), 'I may not call that tool for you.');
  });

  await step('a follow-up prompt goes on with the conversation', async () => {
    const reply = await ask('And once more?');
    assert.equal((await reply.locator('p.text').innerText()).trim(), 'Refused again.');
    assert.deepEqual(await page.locator('.msg.user').allInnerTexts(), ['Greet Alice', 'And once more?']);
    await page.locator('#clear').click();
    assert.equal(await page.locator('#conversation > *').count(), 0, 'New conversation should clear the page');
  });

  await noBrowserErrors();
});
