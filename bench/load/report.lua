-- Appended to every load script (wrk takes one script). Numbers each thread, counts the
-- statuses it sees, and at the end writes one report file (path in $LOAD_REPORT):
--   summary <requests> <duration_us> <p50_us> <p99_us> <max_us>
--   errors <connect> <read> <write> <timeout>
--   status <code> <n>          (one line per thread and status)
--   <key> <value>              (each thread's `report` table: what the script saw acked)
-- A script may define on_init(thread_no) and on_response(status, body).
local load_threads = {}

function setup(thread)
  thread:set("thread_no", #load_threads)
  table.insert(load_threads, thread)
end

statuses = {}
report = {}
thread_no = 0

function init(args)
  thread_no = tonumber(wrk.thread:get("thread_no") or "0")
  if on_init then on_init(thread_no) end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if on_response then on_response(status, body) end
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("LOAD_REPORT"), "w"))
  local e = summary.errors
  out:write(string.format("summary %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max))
  out:write(string.format("errors %d %d %d %d\n", e.connect, e.read, e.write, e.timeout))
  for _, t in ipairs(load_threads) do
    for code, n in pairs(t:get("statuses")) do
      out:write(string.format("status %d %d\n", code, n))
    end
    for key, value in pairs(t:get("report")) do
      out:write(key, " ", tostring(value), "\n")
    end
  end
  out:close()
end
