-- wrk script: every request enrols a new learner (a distinct valid NIP, with the
-- learner payload that upserts it) into one big open cohort.
-- Args (after --): a salt unique per wrk invocation, so warm-up and timed runs never
-- send the same NIP twice. The NIP: birth date 1970-01-01 + d days (YYYYMMDD), CPNS
-- start 2020-01 + m months (after any such birth, not in the future), gender g, and
-- sequence s in 001..999; n = ((salt * 64 + thread) * 2^20 + counter) picks (d, m, g, s):
-- 1.7e9 NIPs, so 25 invocations (salts) of up to 64 threads never repeat one.
local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("thread_no", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local salt, counter, thread_no = 0, 0, 0

function init(args)
  salt = tonumber(args[1] or "0")
  thread_no = tonumber(wrk.thread:get("thread_no") or "0")
end

local function nip(n)
  local s = n % 999 + 1
  n = math.floor(n / 999)
  local g = n % 2 + 1
  n = math.floor(n / 2)
  local d = n % 12000
  n = math.floor(n / 12000)
  local m = n % 72
  local born = os.date("!%Y%m%d", d * 86400)
  return string.format("%s%04d%02d%d%03d", born, 2020 + math.floor(m / 12), m % 12 + 1, g, s)
end

request = function()
  counter = counter + 1
  local n = (salt * 64 + thread_no) * 1048576 + counter
  local body = string.format(
    '{"learner_key":"%s","learner":{"asn_type":"pns","name":"Peserta Bench",' ..
    '"position_type":"pelaksana","rank":"III/a"}}', nip(n))
  return wrk.format("POST", nil, nil, body)
end
