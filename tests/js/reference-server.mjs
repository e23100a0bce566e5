// A real Better Auth 1.7.25 server, used only to check the client suites locally against the
// reference implementation before trusting them against authkeeper (CI never runs this).
//
//   AUTHKEEPER_ADMIN_EMAIL=admin@example.com node reference-server.mjs 8124
//   AUTHKEEPER_URL=http://127.0.0.1:8124 BETTER_AUTH_REFERENCE=1 node --test client.test.mjs
//   AUTHKEEPER_URL=http://127.0.0.1:8124 BETTER_AUTH_REFERENCE=1 \
//     AUTHKEEPER_ADMIN_EMAIL=admin@example.com node --test plugins.test.mjs
//   AUTHKEEPER_URL=http://127.0.0.1:8124 BETTER_AUTH_REFERENCE=1 node --test jwt.test.mjs
//
// (BETTER_AUTH_REFERENCE=1 skips the "authkeeper only: …" tests, where authkeeper is stricter than
// Better Auth on purpose; without it they fail here, which shows they test something.)
//
// It mirrors the configuration the suite needs: email and password with reset mails, email
// verification mails, change-email and delete-user enabled, the bearer, twoFactor (codes by mail
// too), admin (AUTHKEEPER_ADMIN_EMAIL signs up as an admin) and jwt plugins (its keys in the
// memory db's `jwks` model; for jwt.test.mjs), and the same development mailbox as authkeeper
// (GET /__mailbox?to=EMAIL → [{to, subject, text, url, at}]).
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { admin, bearer, jwt, twoFactor } from "better-auth/plugins";

const port = Number(process.argv[2] || process.env.PORT || 8124);
const baseURL = `http://127.0.0.1:${port}`;

const outbox = [];
function deliver(to, subject, url, text = `${subject}\n\n${url}\n`) {
  outbox.push({ to, subject, text, url, at: new Date().toISOString() });
}

const adminEmail = (process.env.AUTHKEEPER_ADMIN_EMAIL || "").trim().toLowerCase();
const db = { user: [], session: [], account: [], verification: [], twoFactor: [], jwks: [] };

const auth = betterAuth({
  baseURL,
  secret: "reference-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
  database: memoryAdapter(db),
  emailAndPassword: {
    enabled: true,
    sendResetPassword: async ({ user, url }) => deliver(user.email, "Reset your password", url),
    // authkeeper always revokes every session on a password reset (deliberate difference (c));
    // Better Auth does it only when asked, so ask, and the suite can assert it on both.
    revokeSessionsOnPasswordReset: true,
  },
  emailVerification: {
    sendVerificationEmail: async ({ user, url }) => deliver(user.email, "Verify your email address", url),
  },
  user: {
    changeEmail: { enabled: true },
    deleteUser: { enabled: true },
  },
  databaseHooks: {
    user: {
      create: {
        before: async (user) => (adminEmail && user.email === adminEmail ? { data: { ...user, role: "admin" } } : undefined),
      },
    },
  },
  plugins: [
    bearer(),
    twoFactor({
      otpOptions: {
        sendOTP: async ({ user, otp }) => deliver(user.email, "Your sign-in code", null, `Your code:\n\n${otp}\n`),
      },
    }),
    admin(),
    jwt(),
  ],
});

const handler = toNodeHandler(auth);

const server = http.createServer((req, res) => {
  const url = new URL(req.url, baseURL);
  if (url.pathname === "/__mailbox" && req.method === "GET") {
    const to = (url.searchParams.get("to") || "").toLowerCase();
    const mails = outbox.filter((m) => m.to.toLowerCase() === to);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(mails));
    return;
  }
  if (url.pathname === "/api/auth" || url.pathname.startsWith("/api/auth/")) {
    handler(req, res);
    return;
  }
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ code: "NOT_FOUND", message: "Not Found" }));
});

server.listen(port, "127.0.0.1", () => {
  console.log(`Better Auth reference server at ${baseURL}/api/auth (mailbox at ${baseURL}/__mailbox)`);
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
