// End-to-end suite for the jwt plugin: the official Better Auth client (better-auth/client 1.7.25,
// unmodified) with its `jwtClient` plugin, against a running server with the jwt plugin on
// (authkeeper: AUTHKEEPER_JWT__ENABLED=true), and the tokens checked by `jose` alone, as another
// backend would check them: the keys from GET /jwks, issuer and audience the server's origin.
//
//   AUTHKEEPER_URL=http://127.0.0.1:8123 node --test jwt.test.mjs
//
// The server must run in development mode with loose rate limits, as for client.test.mjs. Every
// test makes its own users with unique addresses, so the suite can run again and again against
// one database.
//
// Conventions as in client.test.mjs: each "device" is its own client with its own cookie jar;
// assertions are on what the client hands an application (`{data, error}`, `error.status`,
// `error.code`) and on what a verifier sees in the tokens; where authkeeper deliberately differs
// from Better Auth, the test says so in a comment marked "authkeeper:", and tests named
// "authkeeper only: …" (skipped with BETTER_AUTH_REFERENCE=1) check what Better Auth does not.
// To check the suite itself, run it with BETTER_AUTH_REFERENCE=1 against a Better Auth 1.7.25
// server with the bearer and jwt plugins: reference-server.mjs is one. (Tokens forged on the
// server's side are tested in Python; this suite is about the client's contract.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { createAuthClient } from "better-auth/client";
import { jwtClient } from "better-auth/client/plugins";
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { BASE, CookieJar, REFERENCE, assertError, assertOk, newPassword, uniqueEmail } from "./support.mjs";

const API = `${BASE}/api/auth`;
/** The `iss` and `aud` of every token: the origin of the server's base URL. */
const ORIGIN = new URL(BASE).origin;
/** Seconds from `iat` to `exp`: Better Auth's default of 15 minutes. */
const LIFETIME = 15 * 60;
const T = { timeout: 20_000 };
/** Options for a test of deliberate authkeeper behaviour, skipped against the Better Auth reference. */
const AK_ONLY = { ...T, skip: REFERENCE ? "authkeeper-only behaviour (BETTER_AUTH_REFERENCE=1)" : false };

/** What another backend holds: the server's published keys, fetched (and cached) by jose. */
const JWKS = createRemoteJWKSet(new URL(`${API}/jwks`));

// -- helpers --------------------------------------------------------------------------------
/**
 * One device: an auth client with the jwt client plugin and its own cookie jar (unless
 * `cookies: false`), sending `Origin: BASE` as a page served from BASE would.
 */
function device({ cookies = true, fetchOptions = {} } = {}) {
  const jar = new CookieJar();
  const customFetchImpl = async (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("origin", BASE);
    if (cookies && jar.cookies.size) headers.set("cookie", jar.header());
    const response = await fetch(input, { ...init, headers });
    if (cookies) jar.store(response);
    return response;
  };
  const client = createAuthClient({
    baseURL: BASE,
    plugins: [jwtClient()],
    fetchOptions: { customFetchImpl, ...fetchOptions },
  });
  return { client, jar };
}

/** A device with no cookies that sends `token` as `Authorization: Bearer`. */
function bearerDevice(token) {
  return device({ cookies: false, fetchOptions: { auth: { type: "Bearer", token } } });
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

async function tokenOf(dev) {
  const data = assertOk(await dev.client.token(), "token()");
  assert.equal(typeof data?.token, "string", `token() answers {token} (got ${JSON.stringify(data)})`);
  return data.token;
}

/**
 * get-session the way Better Auth's docs read the JWT: from the response headers, in the
 * `onSuccess` context (and `onResponse`, which sees every response). Returns the session data,
 * the set-auth-jwt header (null when absent) and the Access-Control-Expose-Headers names.
 */
async function getSessionWithJwt(dev) {
  let fromSuccess = null;
  let fromResponse = null;
  let exposed = [];
  const result = await dev.client.getSession({
    fetchOptions: {
      onResponse(ctx) {
        fromResponse = ctx.response.headers.get("set-auth-jwt");
      },
      onSuccess(ctx) {
        fromSuccess = ctx.response.headers.get("set-auth-jwt");
        exposed = (ctx.response.headers.get("access-control-expose-headers") || "")
          .split(",").map((name) => name.trim().toLowerCase()).filter(Boolean);
      },
    },
  });
  assert.equal(result.error, null, `get-session: error ${JSON.stringify(result.error)}`);
  assert.equal(fromSuccess, fromResponse, "onSuccess and onResponse see the same set-auth-jwt");
  return { session: result.data, jwt: fromSuccess, exposed };
}

/** The claims of `token`, verified by jose alone against the published keys. */
async function verify(token, what) {
  try {
    return await jwtVerify(token, JWKS, { issuer: ORIGIN, audience: ORIGIN });
  } catch (error) {
    assert.fail(`${what}: jose does not verify it (${error.code}: ${error.message}); claims ${JSON.stringify(decodeJwt(token))}`);
  }
}

/** What every token of `user` says, as verified by jose. */
function assertClaimsOf(user, { payload, protectedHeader }, what) {
  assert.equal(protectedHeader.alg, "EdDSA", `${what}: alg`);
  assert.equal(typeof protectedHeader.kid, "string", `${what}: kid`);
  assert.equal(payload.sub, user.id, `${what}: sub is the user id`);
  assert.equal(payload.id, user.id, `${what}: id`);
  assert.equal(payload.email, user.email, `${what}: email`);
  assert.equal(payload.name, user.name, `${what}: name`);
  assert.equal(payload.emailVerified, false, `${what}: emailVerified`);
  assert.equal(payload.iss, ORIGIN, `${what}: iss`);
  assert.equal(payload.aud, ORIGIN, `${what}: aud`);
  assert.ok(Number.isInteger(payload.iat), `${what}: iat is whole seconds (${payload.iat})`);
  assert.equal(payload.exp - payload.iat, LIFETIME, `${what}: exp is iat + 15 minutes`);
  const skew = Math.abs(payload.iat - Date.now() / 1000);
  assert.ok(skew < 60, `${what}: iat is now (${skew} s off)`);
  for (const secret of ["password", "token", "sessionToken"]) {
    assert.equal(payload[secret], undefined, `${what}: no ${secret} claim`);
  }
}

/** `token` with its payload replaced by `change(claims)`; header and signature kept. */
function withPayload(token, change) {
  const [header, , signature] = token.split(".");
  const claims = change({ ...decodeJwt(token) });
  return [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
}

// -- /token -----------------------------------------------------------------------------------
test("token() gives a signed-in device a JWT of its user that jose verifies", T, async () => {
  const user = await newUser("token");
  const token = await tokenOf(user.dev);
  assert.equal(token.split(".").length, 3, `a compact JWS (${token})`);
  const verified = await verify(token, "/token");
  assertClaimsOf(user, verified, "/token");

  const session = assertOk(await user.dev.client.getSession(), "get-session").user;
  assert.equal(new Date(verified.payload.createdAt).getTime(), session.createdAt.getTime(), "createdAt as an ISO date");
  assert.equal(new Date(verified.payload.updatedAt).getTime(), session.updatedAt.getTime(), "updatedAt as an ISO date");
  // The admin plugin is on (on both servers): a plain user's role.
  assert.equal(verified.payload.role, "user", "role");
  assert.equal(verified.payload.twoFactorEnabled, false, "twoFactorEnabled");
});

test("token() without a session is 401 UNAUTHORIZED", T, async () => {
  const { client } = device();
  assertError(await client.token(), 401, "UNAUTHORIZED", "token() signed out");
});

test("each device's token is its user's", T, async () => {
  const ann = await newUser("ann");
  const bob = await newUser("bob");
  const [annToken, bobToken] = await Promise.all([tokenOf(ann.dev), tokenOf(bob.dev)]);
  assert.equal((await verify(annToken, "ann's token")).payload.sub, ann.id);
  assert.equal((await verify(bobToken, "bob's token")).payload.sub, bob.id);
  assert.notEqual(ann.id, bob.id);
});

// -- /jwks ------------------------------------------------------------------------------------
test("jwks() lists the public keys, the one that signed a token among them", T, async () => {
  const user = await newUser("jwks");
  const token = await tokenOf(user.dev);
  const { client } = device();
  const data = assertOk(await client.jwks(), "jwks()");
  assert.ok(Array.isArray(data?.keys) && data.keys.length > 0, `{keys: [...]} (got ${JSON.stringify(data)})`);
  const kids = new Set();
  for (const key of data.keys) {
    assert.equal(key.kty, "OKP", `kty (${JSON.stringify(key)})`);
    assert.equal(key.alg, "EdDSA", `alg (${JSON.stringify(key)})`);
    assert.equal(key.crv, "Ed25519", `crv (${JSON.stringify(key)})`);
    assert.match(key.x, /^[A-Za-z0-9_-]{43}$/, `x: 32 bytes, base64url (${JSON.stringify(key)})`);
    assert.equal(typeof key.kid, "string", `kid (${JSON.stringify(key)})`);
    assert.ok(key.kid.length > 0);
    assert.equal(key.d, undefined, `no private part (${JSON.stringify(key)})`);
    assert.ok(!kids.has(key.kid), `kid ${key.kid} appears once`);
    kids.add(key.kid);
  }
  const { kid } = decodeProtectedHeader(token);
  assert.ok(kids.has(kid), `the token's kid ${kid} is published (${[...kids].join(", ")})`);
});

test("authkeeper only: /jwks says how long to cache it, and its keys are for signatures", AK_ONLY, async () => {
  // authkeeper: Better Auth sends no Cache-Control on /jwks and no `use` on its keys; authkeeper
  // lets verifiers cache the set for jwks_max_age (300 s by default; a new key is published that
  // long before it signs) and marks each key `use: "sig"`.
  const response = await fetch(`${API}/jwks`);
  assert.equal(response.status, 200);
  const cache = (response.headers.get("cache-control") || "").split(",").map((part) => part.trim().toLowerCase());
  assert.ok(cache.includes("public"), `Cache-Control: public (${cache.join(", ")})`);
  assert.ok(cache.includes("max-age=300"), `Cache-Control: max-age=300 (${cache.join(", ")})`);
  const { keys } = await response.json();
  for (const key of keys) assert.equal(key.use, "sig", `use (${JSON.stringify(key)})`);
});

test("authkeeper only: the token's header says typ JWT", AK_ONLY, async () => {
  // authkeeper: Better Auth's header is {alg, kid}; authkeeper adds typ: "JWT" (RFC 7519 §5.1).
  const user = await newUser("typ");
  const header = decodeProtectedHeader(await tokenOf(user.dev));
  assert.deepEqual(Object.keys(header).sort(), ["alg", "kid", "typ"]);
  assert.equal(header.typ, "JWT");
});

// -- set-auth-jwt -------------------------------------------------------------------------------
test("getSession hands a fresh JWT to onSuccess in set-auth-jwt, exposed to cross-origin pages", T, async () => {
  const user = await newUser("header");
  const { session, jwt, exposed } = await getSessionWithJwt(user.dev);
  assert.equal(session?.user?.id, user.id, "get-session has the session");
  assert.ok(jwt, "get-session with a session sends set-auth-jwt");
  assert.ok(exposed.includes("set-auth-jwt"), `Access-Control-Expose-Headers names set-auth-jwt (${exposed.join(", ")})`);
  const verified = await verify(jwt, "set-auth-jwt");
  assertClaimsOf(user, verified, "set-auth-jwt");

  // The same user's claims as the token of /token, signed by a published key.
  const fromEndpoint = await verify(await tokenOf(user.dev), "/token");
  const userClaims = ({ iat, exp, ...rest }) => rest;
  assert.deepEqual(userClaims(verified.payload), userClaims(fromEndpoint.payload), "the same claims but the times");
});

test("getSession without a session sends no set-auth-jwt", T, async () => {
  const { session, jwt } = await getSessionWithJwt(device());
  assert.equal(session, null);
  assert.equal(jwt, null, "no set-auth-jwt without a session");
});

// -- a JWT is not a session -----------------------------------------------------------------
test("a JWT as Authorization: Bearer is not a session: get-session null, token() 401", T, async () => {
  const user = await newUser("bearer-jwt");
  for (const [what, token] of [["/token", await tokenOf(user.dev)], ["set-auth-jwt", (await getSessionWithJwt(user.dev)).jwt]]) {
    assert.ok(token, what);
    const holder = bearerDevice(token);
    const { session, jwt } = await getSessionWithJwt(holder);
    assert.equal(session, null, `get-session with the JWT of ${what} as bearer has no session`);
    assert.equal(jwt, null, `and sends no set-auth-jwt (JWT of ${what})`);
    assertError(await holder.client.token(), 401, "UNAUTHORIZED", `token() with the JWT of ${what} as bearer`);
    assertError(await holder.client.listSessions(), 401, "UNAUTHORIZED", `list-sessions with the JWT of ${what} as bearer`);
  }
  assert.equal(assertOk(await user.dev.client.getSession(), "get-session").user.id, user.id, "the cookie device is untouched");
});

// -- verification by another backend ----------------------------------------------------------
test("a token whose payload was changed fails verification", T, async () => {
  const ann = await newUser("tamper");
  const bob = await newUser("victim");
  const token = await tokenOf(ann.dev);
  await verify(token, "the token as issued");
  const forgeries = {
    "sub and id of another user": withPayload(token, (c) => ({ ...c, sub: bob.id, id: bob.id, email: bob.email })),
    "a later exp": withPayload(token, (c) => ({ ...c, exp: c.exp + 24 * 60 * 60 })),
    "role admin": withPayload(token, (c) => ({ ...c, role: "admin" })),
  };
  for (const [what, forged] of Object.entries(forgeries)) {
    assert.notEqual(forged, token, what);
    await assert.rejects(
      jwtVerify(forged, JWKS, { issuer: ORIGIN, audience: ORIGIN }),
      (error) => error.code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
      `a token with ${what} is refused for its signature`,
    );
  }
});

test("a verifier expecting another issuer or audience refuses the token", T, async () => {
  const user = await newUser("audience");
  const token = await tokenOf(user.dev);
  await assert.rejects(
    jwtVerify(token, JWKS, { issuer: ORIGIN, audience: "https://other.example" }),
    (error) => error.code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && error.claim === "aud",
  );
  await assert.rejects(
    jwtVerify(token, JWKS, { issuer: "https://other.example", audience: ORIGIN }),
    (error) => error.code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && error.claim === "iss",
  );
});

// -- sign-out ---------------------------------------------------------------------------------
test("after sign-out, token() is 401 and getSession sends no set-auth-jwt", T, async () => {
  const user = await newUser("signout");
  const before = await tokenOf(user.dev);
  assert.ok((await getSessionWithJwt(user.dev)).jwt, "set-auth-jwt while signed in");
  assert.equal(assertOk(await user.dev.client.signOut(), "sign-out").success, true);

  assertError(await user.dev.client.token(), 401, "UNAUTHORIZED", "token() after sign-out");
  const { session, jwt } = await getSessionWithJwt(user.dev);
  assert.equal(session, null, "signed out");
  assert.equal(jwt, null, "no set-auth-jwt after sign-out");
  // A JWT is self-contained: one issued before the sign-out verifies until its exp, which is why
  // it lives only 15 minutes. (The server does not take it for a session, before or after.)
  assert.equal((await verify(before, "a token issued before sign-out")).payload.sub, user.id);
});
