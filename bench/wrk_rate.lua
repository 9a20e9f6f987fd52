-- wrk at a fixed request rate, over a list of paths, with a JSON summary.
--
--   WRK_RATE=200 WRK_THREADS=2 WRK_PATHS="/a|/b" WRK_TOKEN=… wrk -t2 -c40 -d20s -s bench/wrk_rate.lua URL
--
-- Each connection sends on its own schedule (rate / connections per second), so the
-- total is the asked rate whatever the latency, as long as the server keeps up: a
-- connection whose answer comes late sends its next request at once and then resumes
-- its schedule. wrk measures each request from send to answer; since a late answer
-- delays only its own connection's next request, use many connections (40 at 200/s:
-- 5 requests/s each) so the figures are not hidden by the schedule. `done` prints one
-- JSON line: the rate asked and achieved, latency percentiles in ms, errors.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } timespec_t;
  int clock_gettime(int clk_id, timespec_t *tp);
]]
local function now_ms()
  local t = ffi.new("timespec_t")
  ffi.C.clock_gettime(1, t) -- CLOCK_MONOTONIC
  return tonumber(t.tv_sec) * 1000 + tonumber(t.tv_nsec) / 1e6
end

local rate = tonumber(os.getenv("WRK_RATE") or "100")
local token = os.getenv("WRK_TOKEN")
local paths = {}
for p in string.gmatch(os.getenv("WRK_PATHS") or "/", "[^|]+") do
  paths[#paths + 1] = p
end

-- wrk runs each thread in its own Lua state: the thread count comes from WRK_THREADS
-- (the same as wrk's -t), the thread's number from setup().
local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
local started = 0
function setup(thread)
  thread:set("id", started)
  started = started + 1
end

local interval, next_at, n
function init(args)
  -- This thread's share of the rate, one clock for all its connections.
  interval = 1000 * nthreads / rate
  next_at = now_ms() + interval * (id or 0) / nthreads
  n = id or 0
  wrk.headers["Connection"] = "keep-alive"
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end

-- The thread's next slot; wrk calls delay() before each request of any connection.
function delay()
  local d = next_at - now_ms()
  next_at = next_at + interval
  if d < 0 then return 0 end
  return d
end

function request()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"rate_asked": %d, "rate_achieved": %.1f, "requests": %d, "errors": %d, "status_errors": %d, '
      .. '"p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, "mean_ms": %.2f}\n',
    rate, summary.requests / secs, summary.requests, errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000))
end
