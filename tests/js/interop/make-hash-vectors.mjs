// Password hashes made by Better Auth's own hashPassword (better-auth/crypto), for
// tests/core/better_auth_hashes.json:
//
//   node make-hash-vectors.mjs > ../../core/better_auth_hashes.json
//
// Each vector: the password, other spellings of it that NFKC makes equal (they must verify
// too), wrong passwords (they must not), and the hash. Every hash is checked here with Better
// Auth's verifyPassword before it is written.
//
//   node make-hash-vectors.mjs check < pairs.json
//
// reads [{password, hash}] (hashes made elsewhere, e.g. by authkeeper) and prints
// [{password, ok}] with Better Auth's verifyPassword's answer for each.
import { readFileSync } from "node:fs";
import { hashPassword, verifyPassword } from "better-auth/crypto";

const NFKC_PASSWORD = "Ｐａｓｓ ﬁ café ½ Å";
const LONG = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_".repeat(2);

const VECTORS = [
  {
    name: "ascii",
    password: "correct horse battery staple",
    equivalents: [],
    wrong: ["correct horse battery staple ", "Correct horse battery staple", ""],
  },
  {
    // Full-width letters, the "ﬁ" ligature, "½" and the angstrom sign all change under NFKC;
    // "é" is precomposed here and decomposed in one equivalent.
    name: "unicode-nfkc",
    password: NFKC_PASSWORD,
    equivalents: [NFKC_PASSWORD.normalize("NFKC"), NFKC_PASSWORD.normalize("NFKD"), "Pass ﬁ café ½ Å"],
    wrong: ["Pass fi cafe ½ Å", "pass fi café 1/2 Å"],
  },
  {
    name: "combining-marks",
    password: "Zoe\u0308 n\u0303 Ame\u0301lie",
    equivalents: ["Zoë ñ Amélie"],
    wrong: ["Zoe n Amelie"],
  },
  {
    name: "max-length-128",
    password: LONG,
    equivalents: [],
    wrong: [LONG.slice(0, 127), LONG.slice(0, 127) + "!"],
  },
  {
    name: "emoji",
    password: "🔐 secret 🦄 key 👩‍💻 ok",
    equivalents: [],
    wrong: ["🔐 secret 🦄 key 👩💻 ok", "🔓 secret 🦄 key 👩‍💻 ok"],
  },
];

async function make() {
  const version = JSON.parse(readFileSync(new URL("../node_modules/better-auth/package.json", import.meta.url))).version;
  const vectors = [];
  for (const v of VECTORS) {
    const hash = await hashPassword(v.password);
    for (const good of [v.password, ...v.equivalents]) {
      if (!(await verifyPassword({ hash, password: good }))) throw new Error(`${v.name}: does not verify: ${good}`);
    }
    for (const bad of v.wrong) {
      if (await verifyPassword({ hash, password: bad })) throw new Error(`${v.name}: wrong password verifies: ${bad}`);
    }
    vectors.push({ ...v, hash });
  }
  return {
    generator: "tests/js/interop/make-hash-vectors.mjs",
    betterAuth: version,
    algorithm: "scrypt N=16384 r=16 p=1 dkLen=64, salt = UTF-8 of 32 hex chars, password NFKC",
    vectors,
  };
}

async function check() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const pairs = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const out = [];
  for (const { password, hash } of pairs) out.push({ password, ok: await verifyPassword({ hash, password }) });
  return out;
}

const result = process.argv[2] === "check" ? await check() : await make();
process.stdout.write(JSON.stringify(result, null, 2) + "\n");
