// Drives the libmicro dashboard in headless Chromium as a person would, against a gateway that
// runs with auth and the dashboard and serves a `helloworld` service with `Helloworld.Call`.
//
//   node dashboard.mjs <base-url> <screenshot-dir>
//
// core/tests/browser.rs starts that gateway and runs this script (harness.mjs: every step
// prints a line and leaves a screenshot).

import assert from 'node:assert/strict';
import {
  ADMIN, base, bodyText, formFor, login, logout, noBrowserErrors, page, run, step, submit, visit,
} from './harness.mjs';

const ENDPOINT = 'helloworld.Helloworld.Call';
const ENDPOINT_PAGE = '/helloworld/Helloworld.Call';
const ALICE = { id: 'alice', password: 'alice-secret-1' };

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

await run('dashboard', async () => {
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

  await noBrowserErrors();
});
