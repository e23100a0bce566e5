// End-to-end suite: the official Better Auth client (better-auth/client 1.7.25, unmodified)
// against a running server.
//
//   AUTHKEEPER_URL=http://127.0.0.1:8123 node --test client.test.mjs
//
// The server must run in development mode (it serves the mail outbox at GET /__mailbox?to=EMAIL)
// with loose rate limits and lockout. Every test makes its own users with unique addresses, so
// the suite can run again and again against one database.
//
// Each "device" is its own client with its own cookie jar. Assertions are on what the client
// hands an application: `{data, error}`, `error.status`, `error.code`, and data shapes (dates as
// Date objects). Where authkeeper deliberately differs from Better Auth, the test asserts
// authkeeper's behaviour and says so in a comment marked "authkeeper:".
//
// reference-server.mjs runs a real Better Auth server to check the suite itself:
//   node reference-server.mjs 8124 &
//   AUTHKEEPER_URL=http://127.0.0.1:8124 BETTER_AUTH_REFERENCE=1 node --test client.test.mjs
// BETTER_AUTH_REFERENCE=1 skips the tests named "authkeeper only: …", which check where authkeeper
// is stricter than Better Auth on purpose (they fail there, as they should).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createAuthClient } from "better-auth/client";
import {
  BASE, CookieJar, REFERENCE, assertError, assertOk, mailbox, newPassword, sleep, uniqueEmail, waitForMail,
} from "./support.mjs";

const API = `${BASE}/api/auth`;
const DAY = 24 * 60 * 60 * 1000;
const T = { timeout: 20_000 };
/** Options for a test of deliberate authkeeper behaviour, skipped against the Better Auth reference. */
const AK_ONLY = { ...T, skip: REFERENCE ? "authkeeper-only behaviour (BETTER_AUTH_REFERENCE=1)" : false };

// -- helpers --------------------------------------------------------------------------------
/**
 * One device: an auth client with its own cookie jar (unless `cookies: false`) that sends
 * `Origin: BASE`, as a browser page served from BASE would (`origin` overrides it; `false` sends
 * none, as a native app would).
 */
function device({ cookies = true, origin = BASE, fetchOptions = {} } = {}) {
  const jar = new CookieJar();
  const customFetchImpl = async (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (origin) headers.set("origin", origin);
    else headers.delete("origin");
    if (cookies && jar.cookies.size) headers.set("cookie", jar.header());
    const response = await fetch(input, { ...init, headers });
    if (cookies) jar.store(response);
    return response;
  };
  const client = createAuthClient({ baseURL: BASE, fetchOptions: { customFetchImpl, ...fetchOptions } });
  return { client, jar };
}

/** A new user, signed up (and so signed in) on a new device. */
async function newUser(tag = "user") {
  const email = uniqueEmail(tag);
  const password = newPassword();
  const name = `Test ${tag}`;
  const dev = device();
  const data = assertOk(await dev.client.signUp.email({ email, password, name }), "sign-up");
  return { email, password, name, id: data.user.id, dev };
}

/** Another device signed in as `user`. */
async function signedIn(user, extra = {}) {
  const dev = device();
  assertOk(await dev.client.signIn.email({ email: user.email, password: user.password, ...extra }), "sign-in");
  return dev;
}

async function sessionOf(dev) {
  return assertOk(await dev.client.getSession(), "get-session");
}

async function countMails(email, match = () => true) {
  return (await mailbox(email)).filter(match).length;
}

/** Follows a mailed link the way a browser tab without cookies would, without following redirects. */
async function followLink(url, { cookie } = {}) {
  return fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
}

function locationOf(response) {
  const location = response.headers.get("location");
  assert.ok(location, `expected a Location header (status ${response.status})`);
  return new URL(location, BASE);
}

const isVerifyLink = (m) => typeof m.url === "string" && m.url.includes("/verify-email");
const isResetLink = (m) => typeof m.url === "string" && m.url.includes("/reset-password/");

// -- basics ---------------------------------------------------------------------------------
test("$fetch('/ok') answers {ok: true}", T, async () => {
  const { client } = device();
  const data = assertOk(await client.$fetch("/ok"), "/ok");
  assert.deepEqual(data, { ok: true });
});

test("getSession without a session is {data: null, error: null}", T, async () => {
  const { client } = device();
  const result = await client.getSession();
  assert.equal(result.error, null);
  assert.equal(result.data, null);
});

test("a protected endpoint without a session is 401 UNAUTHORIZED", T, async () => {
  const { client } = device();
  assertError(await client.listSessions(), 401, "UNAUTHORIZED", "list-sessions without a session");
});

// -- sign-up --------------------------------------------------------------------------------
test("signUp.email creates the user, signs in and lower-cases the email", T, async () => {
  const email = uniqueEmail("SignUp").replace("example.com", "Example.COM");
  const password = newPassword();
  const { client, jar } = device();
  const data = assertOk(await client.signUp.email({ email, password, name: "Sign Up" }), "sign-up");
  assert.equal(typeof data.token, "string");
  assert.ok(data.token.length > 0);
  assert.equal(data.user.email, email.toLowerCase());
  assert.equal(data.user.name, "Sign Up");
  assert.equal(data.user.emailVerified, false);
  assert.equal(typeof data.user.id, "string");
  assert.ok(data.user.createdAt instanceof Date, "user.createdAt is a Date");
  assert.ok(data.user.updatedAt instanceof Date, "user.updatedAt is a Date");
  assert.ok(jar.find(".session_token"), "a session cookie was set");

  const session = await sessionOf({ client });
  assert.equal(session.user.id, data.user.id);
  assert.equal(session.session.token, data.token);
});

test("signUp.email with a taken email is 422 USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", T, async () => {
  const user = await newUser("dup");
  const { client } = device();
  assertError(
    await client.signUp.email({ email: user.email, password: newPassword(), name: "Again" }),
    422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "duplicate sign-up",
  );
});

test("signUp.email with a short password is 400 PASSWORD_TOO_SHORT", T, async () => {
  const { client, jar } = device();
  assertError(
    await client.signUp.email({ email: uniqueEmail("short"), password: "abc12", name: "Short" }),
    400, "PASSWORD_TOO_SHORT", "short password",
  );
  assert.equal(jar.find(".session_token"), undefined, "no session cookie on a failed sign-up");
});

test("signUp.email with a too long password is 400 PASSWORD_TOO_LONG", T, async () => {
  const { client } = device();
  assertError(
    await client.signUp.email({ email: uniqueEmail("long"), password: "x".repeat(129), name: "Long" }),
    400, "PASSWORD_TOO_LONG", "129-character password",
  );
});

test("signUp.email cannot make a verified user", T, async () => {
  const { client } = device();
  const result = await client.signUp.email({ email: uniqueEmail("forged"), password: newPassword(), name: "Forged", emailVerified: true });
  // Better Auth 1.7.25 drops the field; authkeeper refuses it (checked below, "authkeeper only").
  if (result.error) assertError(result, 400, "FIELD_NOT_ALLOWED", "sign-up with emailVerified: true");
  else {
    assert.equal(result.data.user.emailVerified, false);
    assert.equal((await sessionOf({ client })).user.emailVerified, false);
  }
});

// -- sign-in --------------------------------------------------------------------------------
test("signIn.email returns token and user, and a 7-day remembered session", T, async () => {
  const user = await newUser("signin");
  const { client, jar } = device();
  const data = assertOk(await client.signIn.email({ email: user.email, password: user.password }), "sign-in");
  assert.equal(data.redirect, false);
  assert.equal(data.url ?? null, null, "no url without callbackURL");
  assert.equal(typeof data.token, "string");
  assert.equal(data.user.id, user.id);
  assert.equal(data.user.email, user.email);
  const line = jar.lastLine(".session_token");
  assert.ok(line, "sign-in sets the session cookie");
  // Better Auth's name over http; server-side code (e.g. getSessionCookie in middleware) reads it.
  assert.ok(line.startsWith("better-auth.session_token="), line);
  assert.match(line, /;\s*Max-Age=\d+/i, "a remembered session cookie is persistent");
  assert.match(line, /;\s*HttpOnly/i);
  assert.match(line, /;\s*Path=\//i);
  assert.match(line, /;\s*SameSite=Lax/i);

  const session = await sessionOf({ client });
  assert.equal(session.session.token, data.token);
  const left = session.session.expiresAt.getTime() - Date.now();
  assert.ok(left > 6 * DAY && left <= 7 * DAY + 60_000, `expiresAt about 7 days ahead (${left} ms)`);
});

test("signIn.email ignores the case of the email", T, async () => {
  const user = await newUser("case");
  const { client } = device();
  const data = assertOk(await client.signIn.email({ email: user.email.toUpperCase(), password: user.password }), "sign-in");
  assert.equal(data.user.id, user.id);
  assert.equal(data.user.email, user.email);
});

test("passwords are compared after Unicode NFKC normalisation", T, async () => {
  const composed = `Crème-brûlée-${randomBytes(4).toString("hex")}-ﬁne`; // é, û precomposed; "ﬁ" ligature
  const decomposed = composed.normalize("NFD");
  const compat = composed.normalize("NFKC"); // the ligature becomes "fi"
  assert.notEqual(decomposed, composed);
  assert.notEqual(compat, composed);
  const email = uniqueEmail("unicode");
  assertOk(await device().client.signUp.email({ email, password: composed, name: "Unicode" }), "sign-up");
  for (const password of [composed, decomposed, compat]) {
    assertOk(await device().client.signIn.email({ email, password }), `sign-in with ${JSON.stringify(password)}`);
  }
});

test("signIn.email with a wrong password or unknown email is 401 INVALID_EMAIL_OR_PASSWORD", T, async () => {
  const user = await newUser("wrongpw");
  const { client, jar } = device();
  assertError(
    await client.signIn.email({ email: user.email, password: user.password + "x" }),
    401, "INVALID_EMAIL_OR_PASSWORD", "wrong password",
  );
  assertError(
    await client.signIn.email({ email: uniqueEmail("nobody"), password: user.password }),
    401, "INVALID_EMAIL_OR_PASSWORD", "unknown email",
  );
  assert.equal(jar.find(".session_token"), undefined);
  assert.equal((await client.getSession()).data, null);
});

test("signIn.email with rememberMe: false gives a browser-session cookie and a 1-day session", T, async () => {
  const user = await newUser("noremember");
  const { client, jar } = device();
  assertOk(await client.signIn.email({ email: user.email, password: user.password, rememberMe: false }), "sign-in");
  const line = jar.lastLine(".session_token");
  assert.ok(line, "sign-in sets the session cookie");
  assert.doesNotMatch(line, /Max-Age|Expires/i, "no Max-Age/Expires: the cookie ends with the browser session");
  assert.ok(jar.find(".dont_remember"), "the dont_remember cookie is set");

  const session = await sessionOf({ client });
  const left = session.session.expiresAt.getTime() - Date.now();
  assert.ok(left > DAY - 5 * 60_000 && left <= DAY + 60_000, `expiresAt about 1 day ahead (${left} ms)`);

  // Cookies the server re-issues later stay browser-session cookies.
  assertOk(await client.updateUser({ name: "Still forgetful" }), "update-user");
  const reissued = jar.lastLine(".session_token");
  if (reissued) assert.doesNotMatch(reissued, /Max-Age|Expires/i, `update-user re-issued ${reissued}`);
  const fresh = newPassword();
  assertOk(
    await client.changePassword({ currentPassword: user.password, newPassword: fresh, revokeOtherSessions: true }),
    "change-password",
  );
  const renewed = jar.lastLine(".session_token");
  assert.ok(renewed, "change-password with revokeOtherSessions sets a new session cookie");
  assert.doesNotMatch(renewed, /Max-Age|Expires/i, `change-password issued ${renewed}`);
  assert.equal((await sessionOf({ client })).user.name, "Still forgetful");
});

test("signIn.email with callbackURL answers redirect: true and the url", T, async () => {
  const user = await newUser("callback");
  const { client } = device();
  const callbackURL = `${BASE}/dashboard`;
  const data = assertOk(
    await client.signIn.email({ email: user.email, password: user.password, callbackURL }),
    "sign-in with callbackURL",
  );
  assert.equal(data.redirect, true);
  assert.equal(data.url, callbackURL);
  assert.equal(typeof data.token, "string");
  assert.equal((await sessionOf({ client })).user.id, user.id);
});

// -- sessions -------------------------------------------------------------------------------
test("getSession returns session and user with dates as Date objects", T, async () => {
  const user = await newUser("getsession");
  let cacheControl = null;
  const data = assertOk(
    await user.dev.client.getSession({ fetchOptions: { onSuccess: (ctx) => { cacheControl = ctx.response.headers.get("cache-control"); } } }),
    "get-session",
  );
  assert.match(cacheControl || "", /no-store/, "get-session answers Cache-Control: no-store");
  assert.ok(data, "a session");
  const { session, user: u } = data;
  assert.equal(u.id, user.id);
  assert.equal(u.email, user.email);
  assert.equal(u.name, user.name);
  assert.equal(u.emailVerified, false);
  assert.equal(session.userId, user.id);
  assert.equal(typeof session.id, "string");
  assert.equal(typeof session.token, "string");
  for (const [what, value] of [
    ["session.expiresAt", session.expiresAt],
    ["session.createdAt", session.createdAt],
    ["session.updatedAt", session.updatedAt],
    ["user.createdAt", u.createdAt],
    ["user.updatedAt", u.updatedAt],
  ]) {
    assert.ok(value instanceof Date, `${what} is a Date (got ${JSON.stringify(value)})`);
    assert.ok(!Number.isNaN(value.getTime()), `${what} is a valid date`);
  }
  assert.ok(session.expiresAt.getTime() > Date.now());
});

test("listSessions lists the user's sessions; the current one carries its token", T, async () => {
  const user = await newUser("list");
  const other = await signedIn(user);
  const current = (await sessionOf(user.dev)).session;

  const list = assertOk(await user.dev.client.listSessions(), "list-sessions");
  assert.ok(Array.isArray(list));
  assert.equal(list.length, 2);
  for (const s of list) {
    assert.equal(s.userId, user.id);
    assert.ok(s.expiresAt instanceof Date, "expiresAt is a Date");
    assert.ok(s.createdAt instanceof Date, "createdAt is a Date");
    assert.equal(typeof s.token, "string");
  }
  const mine = list.find((s) => s.id === current.id);
  assert.ok(mine, "the current session is listed");
  assert.equal(mine.token, current.token);
  // authkeeper: the other session's `token` is only a handle (accepted by revoke-session, useless
  // as a credential); Better Auth returns the real token. Either way it differs from ours.
  const theirs = list.find((s) => s.id !== current.id);
  assert.notEqual(theirs.token, current.token);
  assert.equal((await sessionOf(other)).user.id, user.id);
});

test("revokeSession revokes another device by the token list-sessions gave", T, async () => {
  const user = await newUser("revoke1");
  const other = await signedIn(user);
  const current = (await sessionOf(user.dev)).session;
  const list = assertOk(await user.dev.client.listSessions(), "list-sessions");
  const theirs = list.find((s) => s.id !== current.id);
  assert.ok(theirs, "the other session is listed");

  // authkeeper: theirs.token is a handle, which revoke-session accepts.
  const data = assertOk(await user.dev.client.revokeSession({ token: theirs.token }), "revoke-session");
  assert.equal(data.status, true);
  assert.equal((await other.client.getSession()).data, null, "the other device is signed out");
  assert.equal((await sessionOf(user.dev)).session.id, current.id, "this device stays signed in");
  const after = assertOk(await user.dev.client.listSessions(), "list-sessions");
  assert.deepEqual(after.map((s) => s.id), [current.id]);
});

test("revokeSession ignores another user's sessions", T, async () => {
  const alice = await newUser("revoke-a");
  const bob = await newUser("revoke-b");
  const bobPhone = await signedIn(bob);
  const bobToken = (await sessionOf(bob.dev)).session.token;
  const bobList = assertOk(await bob.dev.client.listSessions(), "list-sessions");
  const bobPhoneId = (await sessionOf(bobPhone)).session.id;
  const bobPhoneListed = bobList.find((s) => s.id === bobPhoneId);
  assert.ok(bobPhoneListed, "bob's phone is listed");

  // Bob's own token, and what bob's list-sessions shows for his other device, in alice's hands.
  for (const token of [bobToken, bobPhoneListed.token]) {
    const data = assertOk(await alice.dev.client.revokeSession({ token }), "revoke-session");
    assert.equal(data.status, true);
  }
  assert.equal((await sessionOf(bob.dev)).user.id, bob.id, "bob is still signed in");
  assert.equal((await sessionOf(bobPhone)).user.id, bob.id, "bob's phone is still signed in");
  assert.equal((await sessionOf(alice.dev)).user.id, alice.id, "alice is still signed in");
});

test("revokeSession of the current session signs this device out", T, async () => {
  const user = await newUser("revokeself");
  const other = await signedIn(user);
  const { token } = (await sessionOf(user.dev)).session;
  assert.equal(assertOk(await user.dev.client.revokeSession({ token }), "revoke-session").status, true);
  assert.equal(user.dev.jar.find(".session_token"), undefined, "the session cookie was deleted");
  assert.equal((await user.dev.client.getSession()).data, null);
  assert.equal((await sessionOf(other)).user.id, user.id, "the other device stays signed in");
});

test("revokeSessions signs out every device, this one included", T, async () => {
  const user = await newUser("revokeall");
  const other = await signedIn(user);
  const data = assertOk(await user.dev.client.revokeSessions(), "revoke-sessions");
  assert.equal(data.status, true);
  assert.equal(user.dev.jar.find(".session_token"), undefined, "the session cookie was deleted");
  assert.equal((await user.dev.client.getSession()).data, null);
  assert.equal((await other.client.getSession()).data, null);
});

test("revokeOtherSessions signs out the other devices only", T, async () => {
  const user = await newUser("revokeothers");
  const other = await signedIn(user);
  const third = await signedIn(user);
  const data = assertOk(await user.dev.client.revokeOtherSessions(), "revoke-other-sessions");
  assert.equal(data.status, true);
  assert.equal((await sessionOf(user.dev)).user.id, user.id);
  assert.equal((await other.client.getSession()).data, null);
  assert.equal((await third.client.getSession()).data, null);
  assert.equal(assertOk(await user.dev.client.listSessions(), "list-sessions").length, 1);
});

test("signOut ends the session on the server and deletes the cookie", T, async () => {
  const user = await newUser("signout");
  const cookie = user.dev.jar.header();
  const data = assertOk(await user.dev.client.signOut(), "sign-out");
  assert.equal(data.success, true);
  assert.equal(user.dev.jar.find(".session_token"), undefined, "the session cookie was deleted (Max-Age=0)");
  assert.equal((await user.dev.client.getSession()).data, null);

  // The old cookie, replayed, authenticates nothing.
  const replay = await fetch(`${API}/get-session`, { headers: { cookie, origin: BASE } });
  assert.equal(replay.status, 200);
  assert.equal(await replay.json(), null);
});

// -- user -----------------------------------------------------------------------------------
test("updateUser changes name and image; email cannot be changed there", T, async () => {
  const user = await newUser("update");
  const image = "https://example.com/avatar.png";
  const data = assertOk(await user.dev.client.updateUser({ name: "Renamed", image }), "update-user");
  assert.equal(data.status, true);
  const session = await sessionOf(user.dev);
  assert.equal(session.user.name, "Renamed");
  assert.equal(session.user.image, image);

  const unicode = "Zoë Ångström 👩‍💻";
  assertOk(await user.dev.client.updateUser({ name: unicode, image: null }), "update-user");
  const cleared = await sessionOf(user.dev);
  assert.equal(cleared.user.name, unicode);
  assert.equal(cleared.user.image ?? null, null, "image: null clears the image");

  assertError(
    await user.dev.client.updateUser({ email: uniqueEmail("nope") }),
    400, "EMAIL_CAN_NOT_BE_UPDATED", "update-user with email",
  );
  assert.equal((await sessionOf(user.dev)).user.email, user.email);
});

test("verifyPassword accepts the right password and refuses a wrong one", T, async () => {
  const user = await newUser("verifypw");
  const data = assertOk(await user.dev.client.verifyPassword({ password: user.password }), "verify-password");
  assert.equal(data.status, true);
  assertError(
    await user.dev.client.verifyPassword({ password: user.password + "x" }),
    400, "INVALID_PASSWORD", "verify-password with a wrong password",
  );
});

test("changePassword keeps other sessions by default", T, async () => {
  const user = await newUser("changepw");
  const other = await signedIn(user);
  const before = (await sessionOf(user.dev)).session;
  const fresh = newPassword();

  assertError(
    await user.dev.client.changePassword({ currentPassword: user.password + "x", newPassword: fresh }),
    400, "INVALID_PASSWORD", "change-password with a wrong current password",
  );
  assertError(
    await user.dev.client.changePassword({ currentPassword: user.password, newPassword: "short" }),
    400, "PASSWORD_TOO_SHORT", "change-password to a short password",
  );

  const data = assertOk(
    await user.dev.client.changePassword({ currentPassword: user.password, newPassword: fresh }),
    "change-password",
  );
  assert.equal(data.token, null);
  assert.equal(data.user.id, user.id);
  assert.equal((await sessionOf(user.dev)).session.id, before.id, "this session is unchanged");
  assert.equal((await sessionOf(other)).user.id, user.id, "the other device stays signed in");

  const { client } = device();
  assertError(
    await client.signIn.email({ email: user.email, password: user.password }),
    401, "INVALID_EMAIL_OR_PASSWORD", "sign-in with the old password",
  );
  assertOk(await client.signIn.email({ email: user.email, password: fresh }), "sign-in with the new password");
});

test("changePassword with revokeOtherSessions starts a new session and ends the others", T, async () => {
  const user = await newUser("changepw-revoke");
  const other = await signedIn(user);
  const before = (await sessionOf(user.dev)).session;
  const fresh = newPassword();
  const data = assertOk(
    await user.dev.client.changePassword({ currentPassword: user.password, newPassword: fresh, revokeOtherSessions: true }),
    "change-password",
  );
  assert.equal(typeof data.token, "string");
  assert.notEqual(data.token, before.token);
  assert.equal(data.user.id, user.id);

  const now = await sessionOf(user.dev);
  assert.ok(now, "this device is still signed in (with the new session)");
  assert.equal(now.session.token, data.token);
  assert.equal((await other.client.getSession()).data, null, "the other device is signed out");
});

test("deleteUser with the password deletes the account", T, async () => {
  const user = await newUser("delete");
  const other = await signedIn(user);
  assertError(
    await user.dev.client.deleteUser({ password: user.password + "x" }),
    400, "INVALID_PASSWORD", "delete-user with a wrong password",
  );
  assert.equal((await sessionOf(user.dev)).user.id, user.id, "nothing deleted yet");

  const data = assertOk(await user.dev.client.deleteUser({ password: user.password }), "delete-user");
  assert.equal(data.success, true);
  assert.equal((await user.dev.client.getSession()).data, null);
  assert.equal((await other.client.getSession()).data, null);
  const { client } = device();
  assertError(
    await client.signIn.email({ email: user.email, password: user.password }),
    401, "INVALID_EMAIL_OR_PASSWORD", "sign-in after deletion",
  );
});

// -- email verification ---------------------------------------------------------------------
test("sendVerificationEmail mails a link that verifies the email", T, async () => {
  const user = await newUser("verify");
  assert.equal((await sessionOf(user.dev)).user.emailVerified, false);
  const seen = await countMails(user.email, isVerifyLink);
  const callbackURL = `${BASE}/verified`;

  const data = assertOk(
    await user.dev.client.sendVerificationEmail({ email: user.email, callbackURL }),
    "send-verification-email",
  );
  assert.equal(data.status, true);
  const mail = await waitForMail(user.email, { after: seen, match: isVerifyLink });
  assert.equal(mail.to.toLowerCase(), user.email);
  assert.ok(mail.url.startsWith(`${API}/verify-email?`), `verification link under the API: ${mail.url}`);

  const response = await followLink(mail.url);
  assert.equal(response.status, 302, `following the link: ${response.status} ${await response.text()}`);
  const location = locationOf(response);
  assert.equal(location.origin + location.pathname, callbackURL);
  assert.equal(location.searchParams.get("error"), null, `no error in ${location}`);

  assert.equal((await sessionOf(user.dev)).user.emailVerified, true);
  assertError(
    await user.dev.client.sendVerificationEmail({ email: user.email }),
    400, "EMAIL_ALREADY_VERIFIED", "send-verification-email when already verified",
  );
});

// -- password reset -------------------------------------------------------------------------
test("requestPasswordReset + resetPassword via the mailed link", T, async () => {
  const user = await newUser("reset");
  const other = await signedIn(user);
  const seen = await countMails(user.email, isResetLink);
  const redirectTo = `${BASE}/reset`;

  const data = assertOk(await user.dev.client.requestPasswordReset({ email: user.email, redirectTo }), "request-password-reset");
  assert.equal(data.status, true);
  const mail = await waitForMail(user.email, { after: seen, match: isResetLink });
  assert.ok(mail.url.startsWith(`${API}/reset-password/`), `reset link: ${mail.url}`);
  assert.equal(new URL(mail.url).searchParams.get("callbackURL"), redirectTo);

  const landing = await followLink(mail.url);
  assert.equal(landing.status, 302, `following the link: ${landing.status} ${await landing.text()}`);
  const location = locationOf(landing);
  assert.equal(location.origin + location.pathname, redirectTo);
  const token = location.searchParams.get("token");
  assert.ok(token, `token in ${location}`);

  const fresh = newPassword();
  const { client } = device();
  assertOk(await client.resetPassword({ newPassword: fresh, token }), "reset-password");

  assertError(
    await client.signIn.email({ email: user.email, password: user.password }),
    401, "INVALID_EMAIL_OR_PASSWORD", "sign-in with the old password",
  );
  assertOk(await client.signIn.email({ email: user.email, password: fresh }), "sign-in with the new password");

  // authkeeper: a password reset revokes every session (Better Auth only with
  // revokeSessionsOnPasswordReset, which the reference server turns on).
  assert.equal((await user.dev.client.getSession()).data, null, "sessions from before the reset are gone");
  assert.equal((await other.client.getSession()).data, null, "sessions from before the reset are gone");

  // The token is single-use, through the API and through the mailed link.
  assertError(
    await device().client.resetPassword({ newPassword: newPassword(), token }),
    400, "INVALID_TOKEN", "reset-password with a used token",
  );
  const again = await followLink(mail.url);
  assert.equal(again.status, 302);
  assert.equal(locationOf(again).searchParams.get("error"), "INVALID_TOKEN");
});

test("requestPasswordReset for an unknown email answers the same and sends nothing", T, async () => {
  const email = uniqueEmail("ghost");
  const { client } = device();
  const data = assertOk(await client.requestPasswordReset({ email, redirectTo: `${BASE}/reset` }), "request-password-reset");
  assert.equal(data.status, true);
  await sleep(300);
  assert.equal(await countMails(email), 0);
});

test("resetPassword with a made-up token is 400 INVALID_TOKEN", T, async () => {
  const { client } = device();
  assertError(
    await client.resetPassword({ newPassword: newPassword(), token: "made-up-token-0123456789" }),
    400, "INVALID_TOKEN", "reset-password with a made-up token",
  );
});

// -- change email ---------------------------------------------------------------------------
test("changeEmail takes effect only when the new address confirms the mailed link", T, async () => {
  const user = await newUser("change");
  const newEmail = uniqueEmail("changed");
  const callbackURL = `${BASE}/email-changed`;

  const data = assertOk(await user.dev.client.changeEmail({ newEmail, callbackURL }), "change-email");
  assert.equal(data.status, true);
  // authkeeper: nothing changes before the new address confirms.
  assert.equal((await sessionOf(user.dev)).user.email, user.email, "unchanged before confirmation");
  assertError(
    await device().client.signIn.email({ email: newEmail, password: user.password }),
    401, "INVALID_EMAIL_OR_PASSWORD", "sign-in with the new email before confirmation",
  );

  const mail = await waitForMail(newEmail, { match: (m) => typeof m.url === "string" && m.url.startsWith(API) });
  const response = await followLink(mail.url);
  assert.ok([200, 302].includes(response.status), `following the link: ${response.status} ${await response.text()}`);
  if (response.status === 302) {
    const location = locationOf(response);
    assert.equal(location.origin + location.pathname, callbackURL);
    assert.equal(location.searchParams.get("error"), null, `no error in ${location}`);
  }

  assert.equal((await sessionOf(user.dev)).user.email, newEmail, "changed after confirmation");
  const { client } = device();
  assertOk(await client.signIn.email({ email: newEmail, password: user.password }), "sign-in with the new email");
  assertError(
    await device().client.signIn.email({ email: user.email, password: user.password }),
    401, "INVALID_EMAIL_OR_PASSWORD", "sign-in with the old email",
  );

  // authkeeper: the link is single-use.
  const again = await followLink(mail.url);
  const failed = again.status >= 400 || (again.status === 302 && locationOf(again).searchParams.get("error"));
  assert.ok(failed, `a used change-email link must fail (got ${again.status} ${again.headers.get("location")})`);
  assert.equal((await sessionOf(user.dev)).user.email, newEmail);
});

// -- origin checks --------------------------------------------------------------------------
test("a cookie-carrying POST without Origin, or from a foreign origin, is refused with 403", T, async () => {
  const user = await newUser("origin");
  const cookie = user.dev.jar.header();
  const noOrigin = device({ origin: false });
  const foreign = device({ origin: "https://evil.example" });
  for (const dev of [noOrigin, foreign]) for (const [name, value] of user.dev.jar.cookies) dev.jar.cookies.set(name, value);
  assert.equal(noOrigin.jar.header(), cookie);

  assertError(await noOrigin.client.updateUser({ name: "Hijacked" }), 403, "MISSING_OR_NULL_ORIGIN", "update-user without Origin");
  assertError(await foreign.client.updateUser({ name: "Hijacked" }), 403, "INVALID_ORIGIN", "update-user from a foreign origin");
  assertError(await foreign.client.signOut(), 403, "INVALID_ORIGIN", "sign-out from a foreign origin");
  const session = await sessionOf(user.dev);
  assert.equal(session.user.name, user.name, "nothing changed");

  // Reads need no Origin.
  assert.equal((await sessionOf(noOrigin)).user.id, user.id);
});

test("redirect targets must be trusted: callbackURL and redirectTo on a foreign origin are 403", T, async () => {
  const user = await newUser("redirects");
  const evil = "https://evil.example/landing";
  assertError(
    await device().client.signIn.email({ email: user.email, password: user.password, callbackURL: evil }),
    403, "INVALID_CALLBACK_URL", "sign-in with a foreign callbackURL",
  );
  assertError(
    await device().client.requestPasswordReset({ email: user.email, redirectTo: evil }),
    403, "INVALID_REDIRECT_URL", "request-password-reset with a foreign redirectTo",
  );
  assertError(
    await user.dev.client.sendVerificationEmail({ email: user.email, callbackURL: evil }),
    403, "INVALID_CALLBACK_URL", "send-verification-email with a foreign callbackURL",
  );
  assertError(
    await user.dev.client.changeEmail({ newEmail: uniqueEmail("redir"), callbackURL: evil }),
    403, "INVALID_CALLBACK_URL", "change-email with a foreign callbackURL",
  );
  assert.equal(await countMails(user.email, isResetLink), 0, "no reset mail was sent");
});

test("a tampered verification link redirects with error=INVALID_TOKEN and verifies nothing", T, async () => {
  const user = await newUser("tamper");
  const seen = await countMails(user.email, isVerifyLink);
  assertOk(await user.dev.client.sendVerificationEmail({ email: user.email, callbackURL: `${BASE}/verified` }), "send-verification-email");
  const mail = await waitForMail(user.email, { after: seen, match: isVerifyLink });
  const link = new URL(mail.url);
  const token = link.searchParams.get("token");
  link.searchParams.set("token", token.slice(0, -3) + (token.endsWith("AAA") ? "BBB" : "AAA"));
  const response = await followLink(link.href);
  assert.equal(response.status, 302);
  const location = locationOf(response);
  assert.equal(location.origin + location.pathname, `${BASE}/verified`);
  assert.equal(location.searchParams.get("error"), "INVALID_TOKEN");
  assert.equal((await sessionOf(user.dev)).user.emailVerified, false);
});

// -- accounts -------------------------------------------------------------------------------
test("listAccounts lists the credential account; unlinking the last one is refused", T, async () => {
  const user = await newUser("accounts");
  const accounts = assertOk(await user.dev.client.listAccounts(), "list-accounts");
  assert.ok(Array.isArray(accounts));
  assert.equal(accounts.length, 1);
  const [account] = accounts;
  assert.equal(account.providerId, "credential");
  assert.equal(account.accountId, user.id);
  assert.equal(account.userId, user.id);
  assert.equal(typeof account.id, "string");
  assert.ok(Array.isArray(account.scopes));
  assert.ok(account.createdAt instanceof Date, "createdAt is a Date");
  assert.ok(account.updatedAt instanceof Date, "updatedAt is a Date");
  assert.equal(account.password, undefined, "no password hash in the output");

  assertError(
    await user.dev.client.unlinkAccount({ accountId: account.id }),
    400, "FAILED_TO_UNLINK_LAST_ACCOUNT", "unlink the last account",
  );
  assert.equal(assertOk(await user.dev.client.listAccounts(), "list-accounts").length, 1);
});

// -- bearer plugin --------------------------------------------------------------------------
test("bearer: set-auth-token from sign-in authenticates a cookie-less client", T, async () => {
  const user = await newUser("bearer");
  const signer = device({ cookies: false });
  let token = null;
  let exposed = null;
  const data = assertOk(
    await signer.client.signIn.email(
      { email: user.email, password: user.password },
      {
        onSuccess(ctx) {
          token = ctx.response.headers.get("set-auth-token");
          exposed = ctx.response.headers.get("access-control-expose-headers");
        },
      },
    ),
    "sign-in",
  );
  assert.ok(token, "sign-in answers with a set-auth-token header");
  assert.ok(token.startsWith(`${data.token}.`), `set-auth-token is the signed token (${token})`);
  assert.match(exposed || "", /set-auth-token/i, "Access-Control-Expose-Headers names set-auth-token");

  const bearer = device({ cookies: false, fetchOptions: { auth: { type: "Bearer", token } } });
  const session = await sessionOf(bearer);
  assert.ok(session, "the bearer token authenticates");
  assert.equal(session.user.id, user.id);
  assert.equal(session.session.token, data.token);
  assert.equal(assertOk(await bearer.client.listSessions(), "list-sessions with bearer").length, 2);

  const out = assertOk(await bearer.client.signOut(), "sign-out with bearer");
  assert.equal(out.success, true);
  assert.equal((await bearer.client.getSession()).data, null, "signed out");
  assert.equal((await sessionOf(user.dev)).user.id, user.id, "the cookie device is untouched");
});

test("bearer: an invalid token authenticates nothing", T, async () => {
  const bearer = device({ cookies: false, fetchOptions: { auth: { type: "Bearer", token: "not-a-real-token.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXI=" } } });
  const result = await bearer.client.getSession();
  assert.equal(result.error, null);
  assert.equal(result.data, null);
});

// -- where authkeeper is stricter than Better Auth, on purpose --------------------------------
test("authkeeper only: signUp.email refuses fields a client may not set", AK_ONLY, async () => {
  const { client, jar } = device();
  for (const extra of [{ emailVerified: true }, { emailVerified: false }]) {
    assertError(
      await client.signUp.email({ email: uniqueEmail("forged"), password: newPassword(), name: "Forged", ...extra }),
      400, "FIELD_NOT_ALLOWED", `sign-up with ${JSON.stringify(extra)}`,
    );
  }
  assert.equal(jar.find(".session_token"), undefined);
});

test("authkeeper only: list-sessions shows other sessions as handles that authenticate nothing", AK_ONLY, async () => {
  const user = await newUser("handles");
  const phone = await signedIn(user);
  const phoneSession = (await sessionOf(phone)).session;
  const list = assertOk(await user.dev.client.listSessions(), "list-sessions");
  const listed = list.find((s) => s.id === phoneSession.id);
  assert.ok(listed, "the phone's session is listed");
  // authkeeper: Better Auth lists every session's real token; authkeeper only the caller's own.
  assert.notEqual(listed.token, phoneSession.token, "the phone's real token is not disclosed");
  assert.ok(!listed.token.includes(phoneSession.token), "the handle does not contain the real token");

  const thief = device({ cookies: false, fetchOptions: { auth: { type: "Bearer", token: listed.token } } });
  const result = await thief.client.getSession();
  assert.equal(result.error, null);
  assert.equal(result.data, null, "a handle used as a bearer token authenticates nothing");
  assertError(await thief.client.listSessions(), 401, "UNAUTHORIZED", "list-sessions with a handle");
  assert.equal((await sessionOf(phone)).session.id, phoneSession.id, "the phone is still signed in");
});

test("authkeeper only: a new reset link invalidates the older one", AK_ONLY, async () => {
  // authkeeper: Better Auth keeps every reset link valid until one is used; authkeeper keeps
  // only the newest, and a password change kills it too.
  const user = await newUser("reset-old");
  const redirectTo = `${BASE}/reset`;
  const seen = await countMails(user.email, isResetLink);
  assertOk(await user.dev.client.requestPasswordReset({ email: user.email, redirectTo }), "request-password-reset #1");
  const first = await waitForMail(user.email, { after: seen, match: isResetLink });
  assertOk(await user.dev.client.requestPasswordReset({ email: user.email, redirectTo }), "request-password-reset #2");
  const second = await waitForMail(user.email, { after: seen + 1, match: isResetLink });
  assert.notEqual(first.url, second.url);

  assert.equal(locationOf(await followLink(first.url)).searchParams.get("error"), "INVALID_TOKEN",
    "the older link died when the newer one was sent");
  const secondToken = locationOf(await followLink(second.url)).searchParams.get("token");
  assert.ok(secondToken, "the newer link is valid");
  const firstToken = new URL(first.url).pathname.split("/").pop();
  assertError(
    await device().client.resetPassword({ newPassword: newPassword(), token: firstToken }),
    400, "INVALID_TOKEN", "reset-password with the older link's token",
  );

  const fresh = newPassword();
  assertOk(await device().client.resetPassword({ newPassword: fresh, token: secondToken }), "reset-password");
  assertError(
    await device().client.resetPassword({ newPassword: newPassword(), token: secondToken }),
    400, "INVALID_TOKEN", "the used link works once",
  );
  assertOk(await device().client.signIn.email({ email: user.email, password: fresh }), "sign-in with the new password");
});

test("authkeeper only: a reset token is single-use under concurrent requests", AK_ONLY, async () => {
  const user = await newUser("reset-race");
  const seen = await countMails(user.email, isResetLink);
  assertOk(await user.dev.client.requestPasswordReset({ email: user.email, redirectTo: `${BASE}/reset` }), "request-password-reset");
  const mail = await waitForMail(user.email, { after: seen, match: isResetLink });
  const token = locationOf(await followLink(mail.url)).searchParams.get("token");
  assert.ok(token);

  const passwords = [newPassword(), newPassword(), newPassword(), newPassword()];
  const results = await Promise.all(passwords.map((newPassword) => device().client.resetPassword({ newPassword, token })));
  const winners = results.flatMap((r, i) => (r.error ? [] : [passwords[i]]));
  assert.equal(winners.length, 1, `exactly one reset succeeds: ${JSON.stringify(results.map((r) => r.error ?? r.data))}`);
  for (const r of results) if (r.error) assertError(r, 400, "INVALID_TOKEN", "a losing concurrent reset");
  for (const password of passwords) {
    const result = await device().client.signIn.email({ email: user.email, password });
    if (password === winners[0]) assertOk(result, "sign-in with the winning password");
    else assertError(result, 401, "INVALID_EMAIL_OR_PASSWORD", "sign-in with a losing password");
  }
});

test("authkeeper only: the old address is told once the change of email takes effect", AK_ONLY, async () => {
  const user = await newUser("change-notice");
  const newEmail = uniqueEmail("change-notice-new");
  // Not counting verification mails: authkeeper may mail one on sign-up, in the background.
  const isNotice = (m) => !isVerifyLink(m);
  const seen = await countMails(user.email, isNotice);
  assertOk(await user.dev.client.changeEmail({ newEmail, callbackURL: `${BASE}/x` }), "change-email");
  const mail = await waitForMail(newEmail, { match: isVerifyLink });
  assert.equal((await followLink(mail.url)).status, 302);
  assert.equal((await sessionOf(user.dev)).user.email, newEmail);

  const notice = await waitForMail(user.email, { after: seen, match: isNotice });
  assert.equal(notice.to.toLowerCase(), user.email);
  assert.ok(notice.text.includes(newEmail), `the notice names the new address: ${notice.text}`);
});

test("authkeeper only: bearer-authenticated POSTs need no Origin header", AK_ONLY, async () => {
  const user = await newUser("bearer-noorigin");
  let token = null;
  assertOk(
    await device({ cookies: false }).client.signIn.email(
      { email: user.email, password: user.password },
      { onSuccess: (ctx) => { token = ctx.response.headers.get("set-auth-token"); } },
    ),
    "sign-in",
  );
  assert.ok(token);
  // A native app: no cookies, no Origin. (Better Auth turns the bearer token into a cookie first,
  // so it then demands an Origin: 403 MISSING_OR_NULL_ORIGIN.)
  const app = device({ cookies: false, origin: false, fetchOptions: { auth: { type: "Bearer", token } } });
  assertOk(await app.client.updateUser({ name: "From the app" }), "update-user with bearer, no Origin");
  assert.equal((await sessionOf(app)).user.name, "From the app");
  assert.equal(assertOk(await app.client.signOut(), "sign-out with bearer, no Origin").success, true);
  assert.equal((await app.client.getSession()).data, null);
});
