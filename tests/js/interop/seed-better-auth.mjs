// Writes a PostgreSQL database with the real Better Auth (the version in ../package.json), so
// authkeeper can be tested against data it did not write itself.
//
//   node seed-better-auth.mjs seed   <postgres-url> <secret>        → JSON report on stdout
//   node seed-better-auth.mjs verify <postgres-url> <secret> < checks.json → JSON answers on stdout
//
// The URL and secret may also come from DATABASE_URL and BETTER_AUTH_SECRET.
//
// seed: runs Better Auth's own migrations (email and password, the two-factor plugin, the
// admin plugin), then through Better Auth's server API signs up
//   ascii    — a plain ASCII password, signed in once more (its session cookie is reported);
//   unicode  — a password that NFKC changes (ligature, full-width letters) with an accent;
//   admin    — created by the admin plugin with role "admin";
//   totp     — TOTP two-factor enabled and verified (secret and backup codes reported).
// The report: {secret, users: {<key>: {id, email, password, name, role, sessionCookie,
// totpSecret, backupCodes}}}. sessionCookie is the cookie value exactly as Better Auth sent it.
//
// verify: the same Better Auth configuration, without migrating, answers checks read as JSON
// from stdin:
//   {"signIn": [{"email", "password"}],       → [{email, status, body}] (status 200 or error)
//    "sessions": ["<cookie value>"],          → [{session, user} | null] (Better Auth's get-session)
//    "backupCodes": ["<user id>"],            → {<user id>: [codes] | {error}}
//    "pendingMigrations": true}               → {tables: [...], columns: ["table.column", ...]}
// Output: {signIn, sessions, backupCodes, pendingMigrations}.
import { createHmac } from "node:crypto";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { admin, twoFactor } from "better-auth/plugins";
import pg from "pg";

// Better Auth logs through console.log; stdout carries only the JSON answer.
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

const COOKIE = "better-auth.session_token";
const BASE_URL = "http://127.0.0.1:3999";

const USERS = {
  ascii: { email: "ascii@interop.test", name: "Ascii User", password: "plain-ascii-password-42" },
  // "ﬁ" (U+FB01) and the full-width "Ｐａｓｓ" become "fi" and "Pass" under NFKC; "é" is precomposed.
  unicode: { email: "unicode@interop.test", name: "Unicode User", password: "Ｐａｓｓ-ﬁne-café-Größe" },
  admin: { email: "admin@interop.test", name: "Admin User", password: "admin-password-for-interop" },
  totp: { email: "totp@interop.test", name: "Totp User", password: "totp-user-password-77" },
};

function fail(message) {
  process.stderr.write(`seed-better-auth: ${message}\n`);
  process.exit(2);
}

function makeAuth(url, secret) {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const auth = betterAuth({
    baseURL: BASE_URL,
    secret,
    database: pool,
    emailAndPassword: { enabled: true },
    plugins: [twoFactor({ issuer: "Interop" }), admin()],
    logger: { level: "error" },
  });
  return { auth, pool };
}

/** The session cookie value (as sent, still URL-encoded) from a response's Set-Cookie headers. */
function sessionCookie(headers) {
  for (const line of headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair.indexOf("=");
    if (pair.slice(0, eq).trim() === COOKIE && pair.slice(eq + 1)) return pair.slice(eq + 1);
  }
  return null;
}

function cookieHeaders(value) {
  return new Headers({ cookie: `${COOKIE}=${value}` });
}

// RFC 4648 base32 (no padding) → bytes.
function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of text.replace(/=+$/, "").toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// RFC 6238 TOTP over RFC 4226 HOTP: HMAC-SHA1, 30-second steps, 6 digits.
function totpCode(key, at = Date.now(), period = 30, digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / period)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

async function signUp(auth, user) {
  const { headers, response } = await auth.api.signUpEmail({
    body: { email: user.email, password: user.password, name: user.name },
    returnHeaders: true,
  });
  return { id: response.user.id, cookie: sessionCookie(headers) };
}

async function seed(url, secret) {
  const { auth, pool } = makeAuth(url, secret);
  try {
    const { runMigrations } = await getMigrations(auth.options);
    await runMigrations();
    const report = { secret, users: {} };

    // ascii: sign up, then a separate sign-in whose session authkeeper must accept.
    const ascii = await signUp(auth, USERS.ascii);
    const signIn = await auth.api.signInEmail({
      body: { email: USERS.ascii.email, password: USERS.ascii.password },
      returnHeaders: true,
    });
    const asciiCookie = sessionCookie(signIn.headers);
    if (!asciiCookie) fail("sign-in gave no session cookie");
    report.users.ascii = { ...USERS.ascii, id: ascii.id, sessionCookie: asciiCookie };

    // unicode: Better Auth must itself accept the password it hashed before authkeeper tries.
    const unicode = await signUp(auth, USERS.unicode);
    await auth.api.signInEmail({ body: { email: USERS.unicode.email, password: USERS.unicode.password } });
    report.users.unicode = { ...USERS.unicode, id: unicode.id };

    // admin: created through the admin plugin's server API with role "admin".
    const created = await auth.api.createUser({
      body: { email: USERS.admin.email, password: USERS.admin.password, name: USERS.admin.name, role: "admin" },
    });
    report.users.admin = { ...USERS.admin, id: created.user.id, role: created.user.role };

    // totp: enable, then verify a code computed here, so twoFactorEnabled becomes true.
    const totp = await signUp(auth, USERS.totp);
    const enabled = await auth.api.enableTwoFactor({
      body: { password: USERS.totp.password },
      headers: cookieHeaders(totp.cookie),
    });
    const totpSecret = new URL(enabled.totpURI).searchParams.get("secret");
    if (!totpSecret) fail(`no secret in ${enabled.totpURI}`);
    const verified = await auth.api.verifyTOTP({
      body: { code: totpCode(base32Decode(totpSecret)) },
      headers: cookieHeaders(totp.cookie),
      returnHeaders: true,
    });
    const totpCookie = sessionCookie(verified.headers);
    const ctx = await auth.$context;
    const stored = await ctx.internalAdapter.findUserById(totp.id);
    if (stored?.twoFactorEnabled !== true) fail("two-factor did not turn on for the totp user");
    report.users.totp = {
      ...USERS.totp,
      id: totp.id,
      sessionCookie: totpCookie,
      totpURI: enabled.totpURI,
      totpSecret,
      backupCodes: enabled.backupCodes,
    };
    return report;
  } finally {
    await pool.end();
  }
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  return text ? JSON.parse(text) : {};
}

function errorOf(err) {
  return { status: err?.statusCode ?? 500, code: err?.body?.code ?? null, message: err?.body?.message ?? String(err) };
}

async function verify(url, secret) {
  const checks = await readStdin();
  const { auth, pool } = makeAuth(url, secret);
  const out = {};
  try {
    if (checks.signIn) {
      out.signIn = [];
      for (const { email, password } of checks.signIn) {
        try {
          const body = await auth.api.signInEmail({ body: { email, password } });
          out.signIn.push({ email, status: 200, body });
        } catch (err) {
          out.signIn.push({ email, ...errorOf(err) });
        }
      }
    }
    if (checks.sessions) {
      out.sessions = [];
      for (const value of checks.sessions) {
        out.sessions.push(await auth.api.getSession({ headers: cookieHeaders(value), query: { disableRefresh: true } }));
      }
    }
    if (checks.backupCodes) {
      out.backupCodes = {};
      for (const userId of checks.backupCodes) {
        try {
          out.backupCodes[userId] = (await auth.api.viewBackupCodes({ body: { userId } })).backupCodes;
        } catch (err) {
          out.backupCodes[userId] = { error: errorOf(err) };
        }
      }
    }
    if (checks.pendingMigrations) {
      const { toBeCreated, toBeAdded } = await getMigrations(auth.options, { throwOnUnsafe: false });
      out.pendingMigrations = {
        tables: toBeCreated.map((t) => t.table),
        columns: toBeAdded.flatMap((t) => Object.keys(t.fields).map((f) => `${t.table}.${f}`)),
      };
    }
    return out;
  } finally {
    await pool.end();
  }
}

const [mode, urlArg, secretArg] = process.argv.slice(2);
const url = urlArg || process.env.DATABASE_URL;
const secret = secretArg || process.env.BETTER_AUTH_SECRET;
if (!["seed", "verify"].includes(mode) || !url || !secret) {
  fail("usage: seed-better-auth.mjs seed|verify <postgres-url> <secret>");
}
const result = mode === "seed" ? await seed(url, secret) : await verify(url, secret);
process.stdout.write(JSON.stringify(result) + "\n");
