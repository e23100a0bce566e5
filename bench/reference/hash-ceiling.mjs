// How many password verifications per second Better Auth's own hashing code allows here,
// without HTTP or a database: the ceiling for its sign-in rate.
//
//   node hash-ceiling.mjs [seconds=5] [in-flight=8]
//
// Prints one JSON line: {"verifications": N, "seconds": S, "per_second": R}.
import { hashPassword, verifyPassword } from "better-auth/crypto";

const seconds = Number(process.argv[2] || 5);
const inFlight = Number(process.argv[3] || 8);
const password = "bench-ceiling-password";
const hash = await hashPassword(password);

let count = 0;
const started = performance.now();
const deadline = started + seconds * 1000;

async function lane() {
  while (performance.now() < deadline) {
    if (!(await verifyPassword({ hash, password }))) throw new Error("verification failed");
    count += 1;
  }
}

await Promise.all(Array.from({ length: inFlight }, lane));
const elapsed = (performance.now() - started) / 1000;
console.log(JSON.stringify({ verifications: count, seconds: elapsed, per_second: count / elapsed }));
