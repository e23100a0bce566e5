// Shared by the client suites: the server under test, unique users, and a cookie jar per device.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

export const BASE = (process.env.AUTHKEEPER_URL || "").replace(/\/+$/, "");
if (!/^https?:\/\/[^/]+$/.test(BASE)) {
  throw new Error(`set AUTHKEEPER_URL to the server's origin, e.g. http://127.0.0.1:8123 (got ${JSON.stringify(process.env.AUTHKEEPER_URL)})`);
}
/** Set against a real Better Auth server, to check the suites themselves. */
export const REFERENCE = /^(1|true|yes)$/i.test(process.env.BETTER_AUTH_REFERENCE || "");

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function uniqueEmail(tag) {
  return `${tag}-${Date.now().toString(36)}-${randomBytes(5).toString("hex")}@example.com`;
}

/** A password no policy should refuse: long, not common, not the email. */
export function newPassword() {
  return `Marmalade-${randomBytes(6).toString("hex")}-Lighthouse`;
}

/** Cookies of one device: stored by name, Max-Age<=0 / past Expires delete, sent back on every call. */
export class CookieJar {
  constructor() {
    this.cookies = new Map();
    this.lastSetCookie = [];
  }

  store(response) {
    const lines = response.headers.getSetCookie();
    this.lastSetCookie = lines;
    for (const line of lines) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expired = false;
      for (const attr of attrs) {
        const [key, ...rest] = attr.trim().split("=");
        const val = rest.join("=");
        if (key.toLowerCase() === "max-age" && Number(val) <= 0) expired = true;
        if (key.toLowerCase() === "expires" && Date.parse(val) <= Date.now()) expired = true;
      }
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  /** [name, value] of the cookie whose name ends with `suffix` (e.g. ".session_token"). */
  find(suffix) {
    for (const entry of this.cookies) if (entry[0].endsWith(suffix)) return entry;
    return undefined;
  }

  /**
   * The raw Set-Cookie line of the last response for a cookie whose name ends with `suffix` (the
   * last one, as a browser applies them in order: a response may delete a cookie, then set it).
   */
  lastLine(suffix) {
    return this.lastSetCookie.findLast((line) => line.split("=", 1)[0].trim().endsWith(suffix));
  }
}

export function assertOk(result, what) {
  assert.equal(result.error, null, `${what}: expected success, got error ${JSON.stringify(result.error)}`);
  return result.data;
}

export function assertError(result, status, code, what) {
  assert.ok(result.error, `${what}: expected ${status} ${code}, got data ${JSON.stringify(result.data)}`);
  assert.equal(result.data, null, `${what}: data must be null on error`);
  assert.equal(result.error.status, status, `${what}: status (error ${JSON.stringify(result.error)})`);
  if (code !== undefined) assert.equal(result.error.code, code, `${what}: code (error ${JSON.stringify(result.error)})`);
  assert.equal(typeof result.error.message, "string", `${what}: error.message`);
}

export async function mailbox(email) {
  const response = await fetch(`${BASE}/__mailbox?to=${encodeURIComponent(email.toLowerCase())}`);
  assert.equal(response.status, 200, `GET /__mailbox: ${response.status} ${await response.clone().text()}`);
  const mails = await response.json();
  assert.ok(Array.isArray(mails), "the mailbox is a JSON list");
  return mails;
}

/** Waits (up to ~5 s) for mail number `after + 1` to `email` that passes `match`. */
export async function waitForMail(email, { after = 0, match = () => true, timeout = 5000 } = {}) {
  const deadline = Date.now() + timeout;
  let mails = [];
  while (Date.now() < deadline) {
    mails = await mailbox(email);
    const matching = mails.filter(match);
    if (matching.length > after) return matching[after];
    await sleep(100);
  }
  throw new Error(`no new mail to ${email} within ${timeout} ms; mailbox: ${JSON.stringify(mails, null, 2)}`);
}

