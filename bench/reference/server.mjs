// The Better Auth 1.7.25 server that bench/run.py measures next to authkeeper.
//
//   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_betterauth node server.mjs 8202
//
// Same shape as the authkeeper server under test: email and password, bearer, two-factor and
// admin plugins, rate limiting off, one process. It creates its own tables at start, then
// prints "ready" on stdout once it listens.
import http from "node:http";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { admin, bearer, twoFactor } from "better-auth/plugins";
import pg from "pg";

const port = Number(process.argv[2] || process.env.PORT || 8202);
const baseURL = `http://127.0.0.1:${port}`;
const databaseURL = process.env.DATABASE_URL;
if (!databaseURL) {
  console.error("DATABASE_URL is required");
  process.exit(2);
}

const pool = new pg.Pool({ connectionString: databaseURL, max: 10 });

const options = {
  baseURL,
  secret: "bench-reference-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
  trustedOrigins: [baseURL, ...(process.env.BENCH_ORIGINS || "").split(",").filter(Boolean)],
  database: pool,
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  plugins: [bearer(), twoFactor(), admin()],
};

const { runMigrations } = await getMigrations(options);
await runMigrations();

const auth = betterAuth(options);
const handler = toNodeHandler(auth);

const server = http.createServer((req, res) => {
  if (req.url === "/api/auth" || req.url.startsWith("/api/auth/")) {
    handler(req, res);
    return;
  }
  res.writeHead(404, { "content-type": "application/json" });
  res.end('{"code":"NOT_FOUND","message":"Not Found"}');
});

server.listen(port, "127.0.0.1", () => console.log(`ready ${baseURL}/api/auth`));

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => pool.end().then(() => process.exit(0))));
}
