-- wrk script: POST /api/auth/sign-in/email with the benchmark user's correct credentials.
-- bench/run.py passes the values in the environment.
local function need(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error(name .. " is not set (run this through bench/run.py)")
  end
  return value
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

wrk.method = "POST"
wrk.body = '{"email":' .. json_string(need("BENCH_EMAIL")) .. ',"password":' .. json_string(need("BENCH_PASSWORD")) .. "}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = need("BENCH_ORIGIN")
