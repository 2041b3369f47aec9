// Drives the libmicro dashboard in headless Chromium as a person would, against a gateway that
// runs with auth and the dashboard and serves a `helloworld` service with `Helloworld.Call`.
//
//   node dashboard.mjs <base-url> <screenshot-dir>
//
// core/tests/browser.rs starts that gateway and runs this script. Every step prints a line and
// leaves a screenshot; the first failure prints the page it happened on and exits 1. The whole
// run is capped at RUN_LIMIT_MS and the browser is always closed.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const RUN_LIMIT_MS = 55_000;
const STEP_TIMEOUT_MS = 10_000;
const ENDPOINT = 'helloworld.Helloworld.Call';
const ENDPOINT_PAGE = '/helloworld/Helloworld.Call';
const ADMIN = { id: 'admin', password: 'micro' };
const ALICE = { id: 'alice', password: 'alice-secret-1' };

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node dashboard.mjs <base-url> <screenshot-dir>');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

let browser;
let page;
let stepNumber = 0;
/** Content-Security-Policy violations, script errors and failed stylesheet or script loads. */
const browserErrors = [];

/** Closes the browser and exits with `code`, at most once. */
let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  await browser?.close().catch(() => {});
  process.exit(code);
}

const watchdog = setTimeout(() => {
  console.error(`dashboard: FAILED: the run took longer than ${RUN_LIMIT_MS / 1000} s (stuck at step ${stepNumber})`);
  finish(1);
}, RUN_LIMIT_MS);

/** Runs one named step, then saves a screenshot named after it. */
async function step(name, body) {
  stepNumber += 1;
  const label = `${String(stepNumber).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '').toLowerCase()}`;
  try {
    await body();
  } catch (err) {
    err.step = `step ${stepNumber} (${name})`;
    err.shot = join(shots, `${label}-FAILED.png`);
    throw err;
  }
  await page.screenshot({ path: join(shots, `${label}.png`), fullPage: true });
  console.log(`ok ${stepNumber} - ${name}`);
}

/** Goes to `path` and returns the response, which must be a success. */
async function visit(path) {
  const response = await page.goto(base + path);
  assert.ok(response, `no response for ${path}`);
  assert.ok(response.ok(), `GET ${path} answered ${response.status()}: ${await bodyText()}`);
  return response;
}

/** Submits `form` with its submit button and waits for the page that answers. */
async function submit(form) {
  const button = form.locator('button[type=submit], input[type=submit], button:not([type])').first();
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

/** The form posting to `action`, holding a field named `field` (an input, select or textarea). */
function formFor(action, field) {
  return page.locator(`form[action="${action}"]`).filter({ has: page.locator(`[name="${field}"]`) }).first();
}

/** The visible text of the page, shortened, for failure messages. */
async function bodyText() {
  const text = await page.locator('body').innerText().catch(() => '(no body)');
  return text.replace(/\s+/g, ' ').slice(0, 600);
}

/** Logs in through the login form as `who`. */
async function login(who) {
  const form = page.locator('form[action^="/auth/login"]');
  await form.locator('[name="id"]').fill(who.id);
  await form.locator('[name="password"]').fill(who.password);
  await submit(form);
  assert.ok(!new URL(page.url()).pathname.startsWith('/auth/login'),
    `logging in as ${who.id} stayed on ${page.url()}: ${await bodyText()}`);
}

/** Logs out with the header's button. */
async function logout() {
  await submit(page.locator('form[action="/auth/logout"]'));
  assert.equal(new URL(page.url()).pathname, '/auth/login', `logout landed on ${page.url()}`);
}

/** Fills the endpoint page's `name` field, submits the call form and returns status and response text. */
async function callEndpoint(name) {
  await visit(ENDPOINT_PAGE);
  const form = page.locator('form#call');
  await form.locator('[name="name"]').fill(name);
  await submit(form);
  return {
    status: (await page.locator('#status').innerText()).trim(),
    response: await page.locator('#response').innerText(),
  };
}

async function run() {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: STEP_TIMEOUT_MS,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  // Pages answering 401/403 on purpose log "Failed to load resource"; the steps check those
  // statuses themselves, so only other errors and failed sub-resources count here.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      browserErrors.push(`${page.url()}: ${msg.text()}`);
    }
  });
  page.on('pageerror', (err) => browserErrors.push(`${page.url()}: ${err.message}`));
  page.on('response', (response) => {
    if (response.request().resourceType() !== 'document' && response.status() >= 400) {
      browserErrors.push(`${response.url()} answered ${response.status()}`);
    }
  });

  await step('login page with security headers', async () => {
    const response = await page.goto(`${base}/services`);
    const url = new URL(page.url());
    assert.equal(url.pathname, '/auth/login', `an anonymous /services should go to the login page, got ${page.url()}`);
    assert.equal(url.searchParams.get('next'), '/services', `the login page should come back to /services: ${page.url()}`);
    const headers = response.headers();
    const csp = headers['content-security-policy'] ?? '';
    for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"]) {
      assert.ok(csp.includes(directive), `Content-Security-Policy lacks ${directive}: ${JSON.stringify(csp)}`);
    }
    assert.equal(headers['x-frame-options'], 'DENY', 'X-Frame-Options should be DENY');
    assert.equal(headers['x-content-type-options'], 'nosniff', 'X-Content-Type-Options should be nosniff');
    const form = page.locator('form[action^="/auth/login"]');
    assert.equal(await form.count(), 1, `the login page has no form posting to /auth/login: ${await bodyText()}`);
    assert.equal(await form.locator('input[name="csrf"]').count(), 1, 'the login form has no csrf field');
  });

  await step('wrong password is refused', async () => {
    const form = page.locator('form[action^="/auth/login"]');
    await form.locator('[name="id"]').fill(ADMIN.id);
    await form.locator('[name="password"]').fill('not-the-password');
    const response = await submit(form);
    assert.equal(response.status(), 401, `a wrong password should answer 401, got ${response.status()}`);
    assert.equal(await page.locator('form[action^="/auth/login"]').count(), 1, 'the 401 page should show the login form again');
  });

  await step('admin logs in and sees helloworld', async () => {
    await login(ADMIN);
    assert.equal(new URL(page.url()).pathname, '/services', `login should come back to /services, got ${page.url()}`);
    const link = page.locator('a[href="/helloworld"]');
    assert.ok(await link.count() > 0, `the services page does not link to /helloworld: ${await bodyText()}`);
    const warning = await page.locator('.warning').innerText().catch(() => '');
    assert.ok(warning.includes('default password'), `admin/micro should be warned about the default password, got ${JSON.stringify(warning)}`);
  });

  let otherToken;
  await step('create a token with scope other', async () => {
    await visit('/auth/tokens');
    const form = formFor('/auth/tokens', 'scopes');
    await form.locator('[name="scopes"]').fill('other');
    await submit(form);
    otherToken = (await page.locator('#new-token').innerText()).trim();
    assert.match(otherToken, /^[\w-]+\.[\w-]+\.[\w-]+$/, `#new-token should hold a JWT, got ${JSON.stringify(otherToken)}`);
    await page.locator('#copy-token').click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, otherToken, 'the copy button (#copy-token) should put the token on the clipboard');
  });

  await step(`set scope greeter on ${ENDPOINT}`, async () => {
    await visit('/auth/scopes');
    assert.ok((await bodyText()).includes(ENDPOINT), `the scopes page does not list ${ENDPOINT}: ${await bodyText()}`);
    // One form per endpoint, with the endpoint in a hidden field; else one form to type it in.
    let form = page.locator('form[action="/auth/scopes"]')
      .filter({ has: page.locator(`input[name="endpoint"][value="${ENDPOINT}"]`) }).first();
    if (await form.count() === 0) {
      form = formFor('/auth/scopes', 'endpoint');
      await form.locator('[name="endpoint"]').fill(ENDPOINT);
    }
    await form.locator('[name="scopes"]').fill('greeter');
    await submit(form);
    const row = page.locator('tr', { hasText: ENDPOINT }).first();
    const shown = (await row.count()) > 0 ? await row.innerText() : await bodyText();
    assert.ok(shown.includes('greeter') || (await row.locator('input[name="scopes"]').inputValue().catch(() => '')) === 'greeter',
      `after saving, ${ENDPOINT} should show scope greeter: ${shown}`);
  });

  await step('admin calls the endpoint from its form', async () => {
    const { status, response } = await callEndpoint('Browser');
    assert.equal(status, '200', `admin (scope *) should get 200, got ${status}: ${response}`);
    assert.equal(JSON.parse(response).msg, 'Hello Browser', `unexpected response: ${response}`);
    const curl = await page.locator('#curl').innerText();
    assert.ok(curl.startsWith('curl'), `#curl should hold a curl command, got ${curl}`);
    assert.ok(curl.includes('/api/helloworld/Helloworld.Call'), `the curl command should call /api/helloworld/Helloworld.Call: ${curl}`);
    assert.ok(!/eyJ[\w-]*\.[\w-]+\.[\w-]+/.test(curl), `the curl command must not show the session token: ${curl}`);
  });

  await step('create user alice with scope other', async () => {
    await visit('/auth/users');
    const form = formFor('/auth/users', 'password');
    await form.locator('[name="id"]').fill(ALICE.id);
    await form.locator('[name="password"]').fill(ALICE.password);
    const kind = form.locator('[name="kind"]');
    if (await kind.evaluate((el) => el.tagName) === 'SELECT') {
      await kind.selectOption('user');
    } else {
      await kind.fill('user');
    }
    await form.locator('[name="scopes"]').fill('other');
    await submit(form);
    const row = page.locator('tr', { hasText: ALICE.id }).first();
    assert.ok(await row.count() > 0, `the users page does not list ${ALICE.id}: ${await bodyText()}`);
    assert.ok((await row.innerText()).includes('other'), `${ALICE.id}'s row should show scope other: ${await row.innerText()}`);
  });

  await step('log out and in as alice', async () => {
    await logout();
    await login(ALICE);
    const denied = await page.goto(`${base}/auth/users`);
    assert.equal(denied.status(), 403, `alice is no admin: /auth/users should answer 403, got ${denied.status()}`);
  });

  await step('alice is refused the endpoint (403)', async () => {
    const { status, response } = await callEndpoint('Alice');
    assert.equal(status, '403', `alice (scope other) should get 403, got ${status}: ${response}`);
    const body = JSON.parse(response);
    assert.equal(body.error, 'insufficient scopes', `unexpected 403 body: ${response}`);
    assert.equal(body.required_scopes, 'greeter', `unexpected 403 body: ${response}`);
  });

  await step('the API refuses a bearer token without the scope (403)', async () => {
    const url = `${base}/api/helloworld/Helloworld.Call`;
    const denied = await page.request.post(url, {
      headers: { Authorization: `Bearer ${otherToken}` },
      data: { name: 'Token' },
    });
    const body = await denied.json().catch(async () => ({ text: await denied.text() }));
    assert.equal(denied.status(), 403, `a token with scope other should get 403, got ${denied.status()}: ${JSON.stringify(body)}`);
    assert.deepEqual(body, { error: 'insufficient scopes', required_scopes: 'greeter' });
    const anonymous = await page.request.post(url, {
      headers: { Authorization: 'Bearer not-a-token' },
      data: { name: 'Token' },
    });
    assert.equal(anonymous.status(), 401, `a bad token should get 401, got ${anonymous.status()}`);
    // Control: an admin token from the JSON login passes the same check.
    const login = await page.request.post(`${base}/auth/login`, { data: ADMIN });
    assert.equal(login.status(), 200, `JSON login as admin answered ${login.status()}`);
    const { token } = await login.json();
    const allowed = await page.request.post(url, {
      headers: { Authorization: `Bearer ${token}` },
      data: { name: 'Token' },
    });
    assert.equal(allowed.status(), 200, `the admin token should get 200, got ${allowed.status()}`);
    assert.deepEqual(await allowed.json(), { msg: 'Hello Token' });
  });

  await step('no CSP violations or script errors', async () => {
    assert.deepEqual(browserErrors, [], 'the browser logged errors (inline script or style blocked by the CSP?)');
  });
}

try {
  await run();
  clearTimeout(watchdog);
  console.log(`dashboard: all steps passed; screenshots in ${shots}`);
  await finish(0);
} catch (err) {
  clearTimeout(watchdog);
  console.error(`dashboard: FAILED at ${err.step ?? 'start-up'}: ${err.message}`);
  if (page) {
    console.error(`  page: ${page.url()}`);
    console.error(`  text: ${await bodyText()}`);
    if (err.shot) {
      await page.screenshot({ path: err.shot, fullPage: true }).catch(() => {});
      console.error(`  screenshot: ${err.shot}`);
    }
  }
  await finish(1);
}
